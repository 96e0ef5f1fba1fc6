"""Reads an unzipped export's YOLO dataset the way an Ultralytics trainer does before it trains; JSON on stdout.

Usage: python3 yolo_check.py DATA_YAML   (run from any folder: a trainer is pointed at data.yaml from wherever it runs)

No YOLO trainer installs here (ultralytics is not in the package index this project can reach), so this script
applies the dataset checks Ultralytics applies (`check_det_dataset`, `img2label_paths`, `verify_image_label` in
ultralytics/data/utils.py), with the libraries it applies them with: PyYAML reads data.yaml, Pillow opens and
verifies each image, numpy parses each label file.

- data.yaml: characters YAML readers reject are dropped, then yaml.safe_load. `train` and `val` are required;
  `names` or `nc`, and when both, len(names) == nc; names (a list, or a mapping with integer keys 0..n-1) become
  {int: str}. The dataset root is `path` when given, else the folder of data.yaml; a relative `path` is taken
  from the current folder when it exists there (a trainer would next try its datasets folder). train/val are
  resolved against the root (a leading ../ dropped when that is what exists); every val path must exist.
- Images: files under train/val (recursively) whose suffix is an image format; none found is an error.
- Labels: an image's label file is its path with the last /images/ replaced by /labels/ and the suffix by .txt.
- Per image: Pillow opens and verifies it; its size is at least 10×10; its format is an image format; a JPEG
  ends with FF D9 (else a trainer rewrites it: reported as a warning). Its label file, if there, has rows of
  5 numbers (class cx cy w h; more than 6 would be a polygon), none negative, coordinates at most 1, class
  below nc; duplicate rows are reported (a trainer drops them). No label file: missing (a background image to
  a trainer); an empty one: empty.

Besides the trainer's: label files with no image (`orphans`).
"""
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageOps

IMG_FORMATS = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"}


def load_yaml(file: Path) -> dict:
    text = file.read_text(errors="ignore")
    # what yaml_load strips before parsing: characters outside printable Unicode
    text = re.sub(r"[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]+", "", text)
    data = yaml.safe_load(text) or {}
    data["yaml_file"] = str(file)
    return data


def class_names(names) -> dict:
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, dict):
        raise SyntaxError(f"names must be a list or a mapping, got {type(names).__name__}")
    if not all(isinstance(k, int) for k in names):
        raise SyntaxError(f"names keys must be integers, got {[k for k in names if not isinstance(k, int)]}")
    out = {int(k): str(v) for k, v in names.items()}
    n = len(out)
    bad = [k for k in out if not 0 <= k < n]
    if bad:
        raise KeyError(f"{n}-class dataset requires class indices 0-{n - 1}, but has {bad}")
    return out


def check_dataset(file: Path) -> dict:
    data = load_yaml(file)
    for k in ("train", "val"):
        if k not in data:
            raise SyntaxError(f"'{k}:' key missing: 'train' and 'val' are required in all data YAMLs")
    if "names" not in data and "nc" not in data:
        raise SyntaxError("'names' or 'nc' is required in all data YAMLs")
    if "names" in data and "nc" in data and len(data["names"]) != data["nc"]:
        raise SyntaxError(f"'names' length {len(data['names'])} and 'nc: {data['nc']}' must match")
    names = class_names(data["names"]) if "names" in data else {i: f"class_{i}" for i in range(data["nc"])}
    path = Path(data.get("path") or Path(data["yaml_file"]).parent)
    if not path.exists() and not path.is_absolute():
        raise FileNotFoundError(f"dataset root {path} not found from {os.getcwd()} (a trainer would look in its datasets folder next)")
    resolved = {}
    for k in ("train", "val", "test"):
        v = data.get(k)
        if not v:
            continue
        out = []
        for x in v if isinstance(v, list) else [v]:
            p = (path / x).resolve()
            if not p.exists() and str(x).startswith("../"):
                p = (path / str(x)[3:]).resolve()
            out.append(p)
        resolved[k] = out
    missing = [str(p) for p in resolved["val"] if not p.exists()]
    if missing:
        raise FileNotFoundError(f"Dataset images not found, missing paths {missing}")
    return {"names": names, "nc": len(names), "root": str(path.resolve()), "resolved": {k: [str(p) for p in v] for k, v in resolved.items()}}


def image_files(dirs: list) -> list:
    files = set()
    for d in dirs:
        p = Path(d)
        found = p.rglob("*.*") if p.is_dir() else [Path(x.strip()) for x in p.read_text().splitlines() if x.strip()]
        files.update(str(f.resolve()) for f in found if f.suffix[1:].lower() in IMG_FORMATS)
    if not files:
        raise FileNotFoundError(f"No images found in {dirs}")
    return sorted(files)


def label_path(im_file: str) -> str:
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return sb.join(im_file.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


def verify(im_file: str, lb_file: str, nc: int) -> dict:
    r = {"image": im_file, "label": lb_file, "status": "", "warnings": [], "rows": []}
    try:
        im = Image.open(im_file)
        im.verify()
        size = ImageOps.exif_transpose(Image.open(im_file)).size  # exif-corrected (width, height)
        r["width"], r["height"], r["format"] = size[0], size[1], im.format
        assert size[0] > 9 and size[1] > 9, f"image size {size} <10 pixels"
        assert im.format.lower() in IMG_FORMATS, f"invalid image format {im.format}"
        if im.format.lower() in ("jpg", "jpeg"):
            with open(im_file, "rb") as f:
                f.seek(-2, 2)
                if f.read() != b"\xff\xd9":
                    r["warnings"].append("corrupt JPEG (a trainer restores and saves it)")
        if os.path.isfile(lb_file):
            with open(lb_file) as f:
                lb = [x.split() for x in f.read().strip().splitlines() if len(x)]
            assert not any(len(x) > 6 for x in lb), "polygon rows in a detection dataset"
            lb = np.array(lb, dtype=np.float32)
            if len(lb):
                assert lb.shape[1] == 5, f"labels require 5 columns, {lb.shape[1]} columns detected"
                assert lb[:, 1:].max() <= 1, f"non-normalized or out of bounds coordinates {lb[:, 1:][lb[:, 1:] > 1]}"
                assert lb.min() >= 0, f"negative label values {lb[lb < 0]}"
                assert lb[:, 0].max() < nc, f"Label class {int(lb[:, 0].max())} exceeds dataset class count {nc}"
                assert (lb[:, 0] == np.round(lb[:, 0])).all(), f"non-integer classes {lb[:, 0][lb[:, 0] != np.round(lb[:, 0])]}"
                _, i = np.unique(lb, axis=0, return_index=True)
                if len(i) < len(lb):
                    r["warnings"].append(f"{len(lb) - len(i)} duplicate labels (a trainer removes them)")
                r["status"] = "found"
                r["rows"] = lb.tolist()
            else:
                r["status"] = "empty"
        else:
            r["status"] = "missing"
    except Exception as e:  # what a trainer counts as corrupt and leaves out
        r["status"] = "corrupt"
        r["error"] = f"{type(e).__name__}: {e}"
    return r


def main(yaml_path: str) -> None:
    report = {"cwd": os.getcwd()}
    try:
        ds = check_dataset(Path(yaml_path))
    except Exception as e:
        report["error"] = f"{type(e).__name__}: {e}"
        json.dump(report, sys.stdout)
        return
    report.update(ds)
    report["names"] = {str(k): v for k, v in ds["names"].items()}
    splits = {}
    for split in ("train", "val"):
        files = image_files(ds["resolved"][split])
        splits[split] = [verify(f, label_path(f), ds["nc"]) for f in files]
    report["splits"] = splits
    label_dirs = {Path(r["label"]).parent for r in splits["train"]}
    labels = {str(p.resolve()) for d in label_dirs for p in d.glob("*.txt")}
    report["orphans"] = sorted(labels - {r["label"] for r in splits["train"]})
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
