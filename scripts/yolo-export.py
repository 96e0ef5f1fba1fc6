"""A YOLOv8-format ONNX export, made with torch, and the detections torch makes with it on real photos.

Usage: python scripts/yolo-export.py --out DIR [--image PATH[@rot90]]... [--conf 0.25] [--iou 0.45]
       (the Python of .cache/yolo-venv: `npm run yolo-venv` makes it; JSON report on stdout)

What this is, honestly: **not a trained Ultralytics model.** No trained YOLO checkpoint can be reached where this
project is built and tested (no model hub; the Python package `ultralytics` is not in the package index here; no
npm package ships a YOLOv8 ONNX). What torch *can* give us is the YOLOv8 detection head's real architecture and
output convention, exported by torch.onnx.export as `yolo export format=onnx` does, so the monitor's YOLO adapter
reads a graph torch wrote rather than tensors we typed in. This file reimplements, after ultralytics/nn/modules
(head.py `Detect`, block.py `DFL`, utils/tal.py `make_anchors`/`dist2bbox`, conv.py `Conv` after `fuse()`):

- a small backbone (strided 3×3 conv + SiLU blocks) giving P3/P4/P5 feature maps at strides 8/16/32 (80×80,
  40×40, 20×20 for a 640×640 input) — a stand-in for YOLOv8's CSP backbone and neck, which the output format
  does not depend on;
- Detect: per level a box branch `cv2` (2 Conv + 1×1 to 4·reg_max = 64 channels) and a class branch `cv3`
  (2 Conv + 1×1 to nc = 80), with Ultralytics' bias initialisation; in the graph, as an export has it: the
  levels flattened and concatenated (8400 anchors), DFL (softmax over 16 bins · arange(16) as a 1×1 conv),
  dist2bbox around the anchor points (cell centres, offset 0.5) times the stride → centre x, y, w, h in input
  pixels, and sigmoid class scores: `output0` [1, 84, 8400], input `images` [1, 3, 640, 640] RGB 0–1,
  with the metadata Ultralytics writes (names, stride, task, imgsz, batch), an honest description;
- a YOLOv5-format head on the same backbone (`--v5`): per level 3 anchors × (5 + nc), sigmoid, xy = (2σ − 0.5 +
  grid) · stride, wh = (2σ)² · anchor → `output0` [1, 25200, 85] with objectness.

Weights: seeded (torch.manual_seed(0)). Random weights detect nothing meaningful, so a few class (v5: objectness)
channels of the last 1×1 convs are calibrated on the images: their weights scaled and their bias set so a
handful of anchors score above --conf (the best 0.92), the rest below, with --conf in the widest gap — deterministic, and with margins
checked (a channel with no such setting is left as initialised, silent; at least 3 must fire) (no
score within 0.005 of --conf, no same-class IoU within 0.005 of --iou, no near-tie between the top two classes)
so onnxruntime's float differences cannot flip a detection, and no box reaching 10 % beyond the input (the
monitor marks an output with boxes far out of frame malformed, rightly: a trained model's stay about it).
The boxes are whatever those anchors regress.

Then, as Ultralytics predicts (ultralytics/data/augment.py `LetterBox`, utils/ops.py `non_max_suppression`,
`scale_boxes`): each image letterboxed to 640×640 (aspect kept, centred, padded with 114 grey, pixels / 255),
run through the torch model, candidates whose best class score > conf, class-wise NMS (torchvision.ops.nms's
rule with the class offset, written out in torch), boxes mapped back to the image's pixels by the letterbox's gain and padding and clipped.
Each image's input tensor (float32 NCHW, raw) and torch's raw output are written beside the ONNX files, so
another runtime can be fed the very same input.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

COCO = [
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
    'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
    'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
    'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
]
NC = len(COCO)
SIZE = 640
STRIDES = (8, 16, 32)
PAD = 114
# how far from --conf a score, and from --iou a same-class IoU, must stay (onnxruntime and torch differ by ~1e-6)
MARGIN = 0.005
DESCRIPTION = 'YOLOv8 detection-head format built with torch (seeded, calibrated weights): not a trained Ultralytics model'
# (level, class) pairs whose scores are calibrated to fire on the images: v8 class channels, v5 objectness
V8_FIRE = [(0, COCO.index('sports ball')), (0, COCO.index('bottle')), (1, COCO.index('person')), (1, COCO.index('car')), (2, COCO.index('person')), (2, COCO.index('dog'))]
V5_FIRE = [(0, 0, COCO.index('sports ball')), (1, 1, COCO.index('person')), (1, 0, COCO.index('car')), (2, 0, COCO.index('dog'))]  # (level, anchor, class)
V5_ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))


def conv(c1, c2, k=3, s=1):
    """Ultralytics' Conv (Conv2d + BatchNorm2d + SiLU) as `fuse()` leaves it for export: Conv2d with bias + SiLU."""
    return nn.Sequential(nn.Conv2d(c1, c2, k, s, k // 2, bias=True), nn.SiLU())


class Backbone(nn.Module):
    def __init__(self, ch=64):
        super().__init__()
        self.stem = nn.Sequential(conv(3, 16, 3, 2), conv(16, 32, 3, 2), conv(32, ch, 3, 2))  # /8
        self.p4 = conv(ch, ch, 3, 2)  # /16
        self.p5 = conv(ch, ch, 3, 2)  # /32

    def forward(self, x):
        p3 = self.stem(x)
        p4 = self.p4(p3)
        return [p3, p4, self.p5(p4)]


class DFL(nn.Module):
    """ultralytics/nn/modules/block.py DFL: expected value of a softmax over reg_max bins, as a fixed 1×1 conv."""

    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(feats, strides, offset=0.5):
    """ultralytics/utils/tal.py make_anchors: cell centres (x, y) per level, and each one's stride."""
    points, stride_t = [], []
    for f, s in zip(feats, strides):
        _, _, h, w = f.shape
        sx = torch.arange(w, dtype=f.dtype) + offset
        sy = torch.arange(h, dtype=f.dtype) + offset
        sy, sx = torch.meshgrid(sy, sx, indexing='ij')
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_t.append(torch.full((h * w, 1), s, dtype=f.dtype))
    return torch.cat(points), torch.cat(stride_t)


def dist2bbox(distance, anchor_points, dim=1):
    """ultralytics/utils/tal.py dist2bbox(xywh=True): left/top/right/bottom distances → centre x, y, w, h."""
    lt, rb = distance.chunk(2, dim)
    x1y1 = anchor_points - lt
    x2y2 = anchor_points + rb
    return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)


class DetectV8(nn.Module):
    """ultralytics/nn/modules/head.py Detect (v8/v11), its export-time forward: [1, 4 + nc, anchors]."""

    def __init__(self, nc=NC, ch=(64, 64, 64), reg_max=16):
        super().__init__()
        self.nc, self.reg_max, self.no = nc, reg_max, nc + 4 * reg_max
        c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(conv(x, c2), conv(c2, c2), nn.Conv2d(c2, 4 * reg_max, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(conv(x, c3), conv(c3, c3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(reg_max)
        for a, b, s in zip(self.cv2, self.cv3, STRIDES):  # Detect.bias_init, but for the box bins (see below)
            # Ultralytics starts every box bin at 1.0 (a 7.5-stride reach each side, for training to shape); untrained
            # that makes 480-px boxes at stride 32, so the bins lean small: about 3 strides each side
            a[-1].bias.data[:] = (1.0 - 0.25 * torch.arange(reg_max, dtype=torch.float)).repeat(4)
            b[-1].bias.data[:nc] = math.log(5 / nc / (SIZE / s) ** 2)

    def forward(self, feats):
        b = feats[0].shape[0]
        x = [torch.cat((self.cv2[i](f), self.cv3[i](f)), 1) for i, f in enumerate(feats)]
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x, STRIDES, 0.5))
        x_cat = torch.cat([xi.view(b, self.no, -1) for xi in x], 2)
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        dbox = dist2bbox(self.dfl(box), anchors.unsqueeze(0), dim=1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class DetectV5(nn.Module):
    """YOLOv5's models/yolo.py Detect, its export-time forward: [1, 3·Σ(h·w), 5 + nc]."""

    def __init__(self, nc=NC, ch=(64, 64, 64)):
        super().__init__()
        self.nc, self.no, self.na = nc, nc + 5, 3
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)
        self.anchors = torch.tensor(V5_ANCHORS, dtype=torch.float).view(3, 3, 2)
        for mi, s in zip(self.m, STRIDES):  # Model._initialize_biases
            bias = mi.bias.data.view(self.na, -1)
            bias[:, 4] += math.log(8 / (SIZE / s) ** 2)
            bias[:, 5:] += math.log(0.6 / (nc - 0.99))

    def forward(self, feats):
        z = []
        for i, f in enumerate(feats):
            x = self.m[i](f)
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            yv, xv = torch.meshgrid(torch.arange(ny, dtype=x.dtype), torch.arange(nx, dtype=x.dtype), indexing='ij')
            grid = torch.stack((xv, yv), 2).expand(1, self.na, ny, nx, 2) - 0.5
            anchor_grid = self.anchors[i].view(1, self.na, 1, 1, 2).expand(1, self.na, ny, nx, 2)
            xy, wh, conf = x.sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 + grid) * STRIDES[i]
            wh = (wh * 2) ** 2 * anchor_grid
            z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return torch.cat(z, 1)


class Model(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.backbone, self.head = Backbone(), head

    def forward(self, images):
        return self.head(self.backbone(images))


# --- the letterbox and the post-processing, as Ultralytics predicts --------------------------------------------


def letterbox(img: Image.Image):
    """LetterBox(640, auto=False, center=True): resize by the smaller ratio, centre, pad 114. Returns the input
    tensor [1, 3, 640, 640] (RGB / 255) and the geometry (gain, left, top, resized width and height)."""
    w0, h0 = img.size
    r = min(SIZE / h0, SIZE / w0)
    nw, nh = int(round(w0 * r)), int(round(h0 * r))
    dw, dh = (SIZE - nw) / 2, (SIZE - nh) / 2
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    canvas = Image.new('RGB', (SIZE, SIZE), (PAD, PAD, PAD))
    canvas.paste(img.resize((nw, nh), Image.BILINEAR), (left, top))
    x = torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0).contiguous()
    return x, {'gain': r, 'left': left, 'top': top, 'width': nw, 'height': nh}


def xywh2xyxy(b):
    return torch.cat((b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2), 1)


def candidates(pred, fmt, conf):
    """One image's rows above conf: (xyxy boxes in input pixels, best score, its class), as non_max_suppression
    (multi_label=False) takes them: v8 the best class score; v5 objectness × class score, objectness > conf first."""
    if fmt == 'v8':
        p = pred[0].transpose(0, 1)  # [anchors, 4 + nc]
        box, cls = p[:, :4], p[:, 4:]
    else:
        p = pred[0]
        p = p[p[:, 4] > conf]
        box, cls = p[:, :4], p[:, 5:] * p[:, 4:5]
    score, j = cls.max(1)
    keep = score > conf
    return xywh2xyxy(box[keep]), score[keep], j[keep], cls[keep]


def box_iou(a, b):
    """IoU of every box in a with every box in b (xyxy), as torchvision.ops.box_iou."""
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def nms(boxes, scores, classes, iou, max_det=300, max_wh=7680):
    """non_max_suppression's batched NMS — boxes offset by class so classes never suppress each other — with
    torchvision.ops.nms's greedy rule (best first; drop the boxes overlapping a kept one by IoU > iou) written
    out: the torchvision wheel matching torch 2.13 in the index reachable here (0.28.0) fails to load with its
    torch 2.13.0+cpu wheel ("operator torchvision::nms does not exist")."""
    order = scores.argsort(descending=True)
    b = boxes[order] + classes[order][:, None].float() * max_wh
    m = box_iou(b, b)
    alive = torch.ones(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if alive[i]:
            keep.append(int(order[i]))
            alive &= m[i] <= iou
    return torch.tensor(keep[:max_det], dtype=torch.long)


def scale_boxes(boxes, geo, w0, h0):
    """scale_boxes: input pixels → the image's, by the letterbox padding and gain, then clipped to the image."""
    b = boxes.clone()
    b[:, [0, 2]] -= geo['left']
    b[:, [1, 3]] -= geo['top']
    b /= geo['gain']
    b[:, [0, 2]] = b[:, [0, 2]].clamp(0, w0)
    b[:, [1, 3]] = b[:, [1, 3]].clamp(0, h0)
    return b


# --- calibration: a handful of confident detections, with margins ----------------------------------------------


def margins_ok(pred, fmt, conf, iou):
    """Why onnxruntime's float differences could flip a detection (a score near conf, a same-class IoU near iou, a
    near-tie between an anchor's top two classes), or a box far outside the input; None if none."""
    if fmt == 'v8':
        p = pred[0].transpose(0, 1)
        box, cls, obj = p[:, :4], p[:, 4:], None
    else:
        p = pred[0]
        box, cls, obj = p[:, :4], p[:, 5:] * p[:, 4:5], p[:, 4]
    if obj is not None and ((obj - conf).abs() < MARGIN).any():
        return 'objectness near conf'
    top2 = cls.topk(2, 1).values
    best = top2[:, 0]
    if ((best - conf).abs() < MARGIN).any():
        return f'score near conf: {best[(best - conf).abs() < MARGIN].tolist()}'
    above = best > conf
    if ((top2[above, 0] - top2[above, 1]) < MARGIN).any():
        return 'top two classes tie'
    boxes, j = xywh2xyxy(box[above]), cls[above].argmax(1)
    slack = 0.1 * SIZE  # a trained model's boxes stay about the input: none reaching 10 % beyond it
    if len(boxes) and ((boxes[:, :2] < -slack).any() or (boxes[:, 2:] > SIZE + slack).any()):
        return 'a box far outside the input'
    for c in j.unique():
        b = boxes[j == c]
        if len(b) > 1:
            m = box_iou(b, b)
            off = ~torch.eye(len(b), dtype=torch.bool)
            if ((m[off] - iou).abs() < MARGIN).any():
                return f'class {int(c)}: IoU near iou'
    return None


@torch.no_grad()
def calibrate(model, fmt, images, conf, iou):
    """Sharpen and shift the chosen channels so each fires at its top few anchors over the images."""
    feats = model.backbone(images[0])
    logit = lambda p: math.log(p / (1 - p))
    if fmt == 'v8':
        fire = [(lvl, lvl, c) for lvl, c in V8_FIRE]  # (level, channel's level, class channel)
    else:
        fire = [(lvl, a, a * (NC + 5) + 4) for lvl, a, _ in V5_FIRE]  # objectness channel of anchor a
        for lvl, a, c in V5_FIRE:  # that anchor's class made confident everywhere: objectness decides
            model.head.m[lvl].bias.data[a * (NC + 5) + 5 + c] = logit(0.9)
    fired = []
    target = conf if fmt == 'v8' else min(0.9, conf / 0.9)  # v5: objectness × a class score of about 0.9
    for lvl, _, ch in fire:
        last = model.head.cv3[lvl][-1] if fmt == 'v8' else model.head.m[lvl]
        w0, b0 = last.weight.data[ch].clone(), last.bias.data[ch].clone()
        # the channel's logit less its bias, per anchor, on every image
        u = []
        for x in images:
            f = model.backbone(x)[lvl]
            f = model.head.cv3[lvl][:-1](f) if fmt == 'v8' else f
            u.append((f[0] * w0.view(-1, 1, 1)).sum(0).flatten())
        order = torch.cat(u).sort(descending=True).values
        # the m (2…8 anchors, else 1) with the widest gap after the m-th value relative to the spread above it
        tries = sorted(range(2, 9), key=lambda m: -float(order[m - 1] - order[m]) / float(order[0] - order[m] + 1e-9)) + [1]
        for m in tries:
            mid = float(order[m - 1] + order[m]) / 2
            # a straight line in logit space: the gap's middle → target, the top anchor → 0.92
            k = (logit(0.92) - logit(target)) / (float(order[0]) - mid)
            last.weight.data[ch] = w0 * k
            last.bias.data[ch] = logit(target) - k * mid
            why = [r for x in images if (r := margins_ok(model(x), fmt, conf, iou))]
            if os.environ.get('YOLO_EXPORT_DEBUG'):
                print(f'level {lvl} channel {ch} m={m}: {why or "ok"}', file=sys.stderr)
            if not why:
                fired.append({'level': lvl, 'stride': STRIDES[lvl], 'channel': ch, 'anchors': m})
                break
        else:  # none safe (e.g. its best anchors' boxes reach far outside): left as initialised, silent
            last.weight.data[ch], last.bias.data[ch] = w0, b0
    if len(fired) < 3:
        raise RuntimeError(f'calibration made only {len(fired)} channels fire margin-safely: {fired}')
    return fired


# --- main ------------------------------------------------------------------------------------------------------


def load(spec):
    path, _, op = spec.partition('@')
    img = Image.open(path).convert('RGB')
    if op == 'rot90':
        img = img.transpose(Image.Transpose.ROTATE_90)
    elif op:
        raise SystemExit(f'unknown image operation @{op} (only @rot90)')
    return os.path.basename(path) + (f'@{op}' if op else ''), img


def export(model, path, fmt, out_shape):
    model.eval()
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    kw = dict(input_names=['images'], output_names=['output0'], opset_version=17, do_constant_folding=True)
    try:
        torch.onnx.export(model, (dummy,), path, dynamo=False, **kw)
        exporter = 'torch.onnx.export (TorchScript exporter, dynamo=False, as Ultralytics exports)'
    except TypeError:  # an older torch without the dynamo switch
        torch.onnx.export(model, (dummy,), path, **kw)
        exporter = 'torch.onnx.export'
    import onnx

    m = onnx.load(path)
    meta = {
        'description': DESCRIPTION if fmt == 'v8' else DESCRIPTION.replace('YOLOv8', 'YOLOv5'),
        'author': 'inference-health-monitor scripts/yolo-export.py (not Ultralytics)',
        'stride': '32',
        'task': 'detect',
        'batch': '1',
        'imgsz': f'[{SIZE}, {SIZE}]',
        'names': str(dict(enumerate(COCO))),
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(m)
    dims = [d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
    if dims != list(out_shape):
        raise RuntimeError(f'{path}: output0 is {dims}, expected {list(out_shape)}')
    onnx.save(m, path)
    return {'exporter': exporter, 'opset': m.opset_import[0].version, 'output': dims, 'bytes': os.path.getsize(path), 'ops': sorted({n.op_type for n in m.graph.node})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--image', action='append', required=True)
    ap.add_argument('--conf', type=float, default=0.25)
    ap.add_argument('--iou', type=float, default=0.45)
    ap.add_argument('--v5', action='store_true', help='also the YOLOv5-format head')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    imgs = [load(s) for s in a.image]
    boxed = [letterbox(img) for _, img in imgs]
    report = {'torch': torch.__version__, 'conf': a.conf, 'iou': a.iou, 'models': {}}
    formats = [('v8', DetectV8(), (1, 4 + NC, sum((SIZE // s) ** 2 for s in STRIDES)))]
    if a.v5:
        formats.append(('v5', DetectV5(), (1, 3 * sum((SIZE // s) ** 2 for s in STRIDES), 5 + NC)))
    backbone = None
    for fmt, head, shape in formats:
        model = Model(head).eval()
        if backbone is None:
            backbone = model.backbone
        else:
            model.backbone = backbone  # the same features under both heads
        fired = calibrate(model, fmt, [x for x, _ in boxed], a.conf, a.iou)
        onnx_path = os.path.join(a.out, f'yolo{fmt}-torch.onnx')
        info = export(model, onnx_path, fmt, shape)
        images = []
        for (name, img), (x, geo) in zip(imgs, boxed):
            with torch.no_grad():
                pred = model(x)
            boxes, scores, classes, _ = candidates(pred, fmt, a.conf)
            keep = nms(boxes, scores, classes, a.iou)
            w0, h0 = img.size
            px = scale_boxes(boxes[keep], geo, w0, h0)
            stem = name.replace('@', '-').replace('.', '-')
            x.numpy().astype('<f4').tofile(tensor := os.path.join(a.out, f'{stem}-input.f32'))
            pred.numpy().astype('<f4').tofile(raw := os.path.join(a.out, f'yolo{fmt}-{stem}-output.f32'))
            images.append({
                'name': name,
                'width': w0,
                'height': h0,
                'letterbox': geo,
                'input': tensor,
                'output': raw,
                'candidates': int(len(scores)),
                'detections': [
                    {'classId': int(classes[i]), 'label': COCO[int(classes[i])], 'score': float(scores[i]), 'box': [float(v) for v in px[k]], 'inputBox': [float(v) for v in boxes[i]]}
                    for k, i in enumerate(keep.tolist())
                ],
            })
        report['models'][fmt] = {'onnx': onnx_path, **info, 'calibrated': fired, 'images': images}
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    main()
