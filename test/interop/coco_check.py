"""What pycocotools reads from an export's annotations.coco.json, as JSON on stdout.

Usage: python3 coco_check.py ANNOTATIONS_JSON

Loads the file with pycocotools' COCO (the reader COCO-based tools and evaluators use), then reports what its
index holds: the images, the categories, and per image its annotations as pycocotools returns them. Then it
evaluates the file's own annotations, given as detections (loadRes), against the file with COCOeval (bbox):
a file whose boxes, areas, ids and categories are all well formed scores AP = AR = 1 against itself.
"""
import contextlib
import io
import json
import sys

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def main(path: str) -> None:
    log = io.StringIO()
    with contextlib.redirect_stdout(log):  # pycocotools prints progress; stdout carries only the JSON
        gt = COCO(path)
    img_ids = gt.getImgIds()
    cat_ids = gt.getCatIds()
    images = []
    for img in gt.loadImgs(img_ids):
        anns = gt.loadAnns(gt.getAnnIds(imgIds=[img["id"]], iscrowd=None))
        images.append(
            {
                "id": img["id"],
                "file_name": img["file_name"],
                "width": img["width"],
                "height": img["height"],
                "annotations": [
                    {
                        "id": a["id"],
                        "category": gt.loadCats([a["category_id"]])[0]["name"],
                        "bbox": a["bbox"],
                        "area": a["area"],
                        "iscrowd": a["iscrowd"],
                        "score": a.get("score"),
                    }
                    for a in anns
                ],
            }
        )
    report = {
        "images": images,
        "categories": [{"id": c["id"], "name": c["name"]} for c in gt.loadCats(cat_ids)],
        "annotations": len(gt.getAnnIds()),
    }

    # the file's annotations as detections, evaluated against the file itself
    dets = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": a["score"]}
        for a in gt.loadAnns(gt.getAnnIds())
    ]
    if dets:
        with contextlib.redirect_stdout(log):
            dt = gt.loadRes(dets)
            ev = COCOeval(gt, dt, "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        # stats: AP@[.5:.95], AP@.5, AP@.75, AP small/medium/large, AR@1, AR@10, AR@100, AR small/medium/large
        report["selfEval"] = {"ap": ev.stats[0], "ap50": ev.stats[1], "ar100": ev.stats[8]}
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
