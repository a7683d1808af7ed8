"""The reference face pipeline as one whole process: what an InsightFace user runs, with OpenCV DNN.

    /usr/bin/python3 scripts/reference-embed.py --images DIR --detector yunet=M.onnx|scrfd=M.onnx \
        --recognizer R.onnx --det-size 256 --det-thresh 0.5 [--nms-thresh 0.4] \
        [--rec-mean 127] [--rec-std 128] --out OUTDIR

The same pipeline as `idclusters embed` (../shared/docs/reference-pipeline.md), written the way
InsightFace's own code (model_zoo/scrfd.py, utils/face_align.py, app/face_analysis.py) writes it,
with Debian's python3-opencv (cv2.dnn runs the ONNX models) and python3-skimage:

- the images of DIR in `imagefolder` order (recursive, hidden names skipped, image extensions, sorted
  by relative POSIX path), each read with cv2.imread (EXIF orientation applied, alpha dropped, grey
  expanded to BGR), one image in memory at a time;
- detection on the image fitted into det_size at the top-left of the model's input (InsightFace's
  SCRFD.detect letterbox; the fixture models are fixed at 640x640, so the rest is zeros):
  SCRFD decoded as InsightFace does (scores >= thresh, distance2bbox / distance2kps, argsort, its
  +1 NMS); YuNet decoded as OpenCV >= 4.8's FaceDetectorYN::postProcess (score = sqrt(cls * obj)
  > thresh, NMSBoxes on integer rectangles). Debian's OpenCV 4.6 FaceDetectorYN predates the 2023mar
  output layout, so the network runs through cv2.dnn and is decoded here;
- the release's face choice: the largest area * (1 - offset)^2, ties to the earlier detection;
- norm_crop: skimage SimilarityTransform to the ArcFace 112x112 template + cv2.warpAffine, border 0;
- the recognizer through cv2.dnn, RGB (p - mean) / std, one crop per forward (the fixture
  MobileFaceNet has its batch fixed at 1), then L2 normalisation in float32.

Writes, like `idclusters embed --out OUTDIR/embeddings.npy --index-out OUTDIR/index.jsonl`:
  OUTDIR/embeddings.npy   float32 [rows with a face, d], in file order
  OUTDIR/index.jsonl      one line per file: row, file_name, status (ok | no_face | error), score,
                          box [x1, y1, x2, y2], landmarks [[x, y] x 5], embedding_row, faces_found,
                          width, height (as decoded), detections [[x1, y1, x2, y2, score], ...]
                          (every face after NMS, for the parity report), reason (no_face / error)
and a one-line JSON summary on stdout.
"""
import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
from skimage import transform as trans

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".avif")

ARCFACE_DST = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def list_images(folder):
    """datasets' imagefolder order: every image file below folder, hidden names skipped, sorted by POSIX path."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d.startswith("__"))]
        for name in files:
            if name.startswith(".") or name.startswith("__") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            found.append(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"))
    return sorted(found)


class Letterbox:
    """InsightFace SCRFD.detect: fit inside det_size keeping the aspect ratio (int() truncation), top-left of a zero blob."""

    def __init__(self, det_size, blob_size):
        self.det_size, self.blob_size = det_size, blob_size
        self.canvas = np.zeros((blob_size, blob_size, 3), dtype=np.uint8)

    def __call__(self, img):
        im_ratio = float(img.shape[0]) / img.shape[1]
        if im_ratio > 1.0:
            new_h = self.det_size
            new_w = max(1, int(new_h / im_ratio))
        else:
            new_w = self.det_size
            new_h = max(1, int(new_w * im_ratio))
        det_scale = float(new_h) / img.shape[0]
        self.canvas[:] = 0
        self.canvas[:new_h, :new_w, :] = cv2.resize(img, (new_w, new_h))
        return self.canvas, det_scale


def nms_insightface(dets, thresh):
    """InsightFace SCRFD.nms: greedy, +1 pixel areas, suppress IoU > thresh."""
    x1, y1, x2, y2, scores = dets[:, 0], dets[:, 1], dets[:, 2], dets[:, 3], dets[:, 4]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        w = np.maximum(0.0, xx2 - xx1 + 1)
        h = np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


class Scrfd:
    """InsightFace model_zoo/scrfd.py (5 keypoints, 3 strides, 2 anchors per location) on cv2.dnn."""

    strides = (8, 16, 32)

    def __init__(self, path, det_size, thresh, nms_thresh, blob_size=640):
        self.net = cv2.dnn.readNetFromONNX(path)
        self.outputs = [f"{k}_{s}" for k in ("score", "bbox", "kps") for s in self.strides]
        self.thresh, self.nms_thresh, self.blob_size = thresh, nms_thresh, blob_size
        self.letterbox = Letterbox(det_size, blob_size)
        self.center_cache = {}

    def detect(self, img):
        det_img, det_scale = self.letterbox(img)
        blob = cv2.dnn.blobFromImage(det_img, 1.0 / 128, (self.blob_size, self.blob_size), (127.5, 127.5, 127.5), swapRB=True)
        self.net.setInput(blob)
        net_outs = self.net.forward(self.outputs)
        scores_list, bboxes_list, kpss_list = [], [], []
        for idx, stride in enumerate(self.strides):
            scores = net_outs[idx][0]
            bbox_preds = net_outs[idx + 3][0] * stride
            kps_preds = net_outs[idx + 6][0] * stride
            height = width = self.blob_size // stride
            key = (height, width, stride)
            if key in self.center_cache:
                anchor_centers = self.center_cache[key]
            else:
                anchor_centers = np.stack(np.mgrid[:height, :width][::-1], axis=-1).astype(np.float32)
                anchor_centers = (anchor_centers * stride).reshape((-1, 2))
                anchor_centers = np.stack([anchor_centers] * 2, axis=1).reshape((-1, 2))
                self.center_cache[key] = anchor_centers
            pos_inds = np.where(scores[:, 0] >= self.thresh)[0]
            c = anchor_centers[pos_inds]
            d = bbox_preds[pos_inds]
            bboxes = np.stack([c[:, 0] - d[:, 0], c[:, 1] - d[:, 1], c[:, 0] + d[:, 2], c[:, 1] + d[:, 3]], axis=-1)
            kpss = (c[:, None, :] + kps_preds[pos_inds].reshape((-1, 5, 2)))
            scores_list.append(scores[pos_inds, 0])
            bboxes_list.append(bboxes / det_scale)
            kpss_list.append(kpss / det_scale)
        scores = np.concatenate(scores_list)
        if scores.size == 0:
            return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        order = scores.argsort()[::-1]
        pre_det = np.hstack([np.concatenate(bboxes_list), scores[:, None]]).astype(np.float32, copy=False)[order]
        kpss = np.concatenate(kpss_list)[order]
        keep = nms_insightface(pre_det, self.nms_thresh)
        return pre_det[keep], kpss[keep]


class Yunet:
    """YuNet 2023mar on cv2.dnn, decoded as OpenCV's FaceDetectorYN::postProcess (BGR 0-255 input)."""

    strides = (8, 16, 32)

    def __init__(self, path, det_size, thresh, nms_thresh, blob_size=640):
        self.net = cv2.dnn.readNetFromONNX(path)
        self.outputs = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in self.strides]
        self.thresh, self.nms_thresh, self.blob_size = thresh, nms_thresh, blob_size
        self.letterbox = Letterbox(det_size, blob_size)
        self.grid_cache = {}

    def detect(self, img):
        det_img, det_scale = self.letterbox(img)
        self.net.setInput(cv2.dnn.blobFromImage(det_img))
        outs = self.net.forward(self.outputs)
        dets, kpss, rects = [], [], []
        for i, stride in enumerate(self.strides):
            cls, obj, bbox, kps = (outs[i + 3 * k][0] for k in range(4))
            score = np.sqrt(np.clip(cls[:, 0], 0, 1) * np.clip(obj[:, 0], 0, 1))
            pos = np.where(score > self.thresh)[0]
            if pos.size == 0:
                continue
            cols = self.blob_size // stride
            r, c = np.divmod(pos, cols)
            cx, cy = (c + bbox[pos, 0]) * stride, (r + bbox[pos, 1]) * stride
            w, h = np.exp(bbox[pos, 2]) * stride, np.exp(bbox[pos, 3]) * stride
            x1, y1 = cx - w / 2, cy - h / 2
            dets.append(np.stack([x1 / det_scale, y1 / det_scale, (x1 + w) / det_scale, (y1 + h) / det_scale, score[pos]], axis=-1))
            kpss.append((kps[pos].reshape(-1, 5, 2) + np.stack([c, r], axis=-1)[:, None, :]) * stride / det_scale)
            # FaceDetectorYN: NMS on Rect2i(int(x1), int(y1), int(w), int(h)) in blob pixels.
            rects.append(np.stack([x1, y1, w, h], axis=-1).astype(np.int32))
        if not dets:
            return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        dets, kpss, rects = np.concatenate(dets), np.concatenate(kpss), np.concatenate(rects)
        keep = cv2.dnn.NMSBoxes(rects.tolist(), dets[:, 4].tolist(), self.thresh, self.nms_thresh, top_k=5000)
        keep = np.array(keep, dtype=np.int64).reshape(-1)
        return dets[keep], kpss[keep]


def choose(dets, width, height):
    """The release's rule: the largest area * (1 - offset)^2, offset = centre distance / diagonal."""
    if len(dets) == 0:
        return -1
    area = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
    offset = np.hypot((dets[:, 0] + dets[:, 2]) / 2 - width / 2, (dets[:, 1] + dets[:, 3]) / 2 - height / 2) / np.hypot(width, height)
    return int(np.argmax(area * (1 - offset) ** 2))  # argmax: the first of equal values


def norm_crop(img, landmark, image_size=112):
    """insightface/utils/face_align.py estimate_norm + norm_crop (112: ratio 1, no x shift)."""
    tform = trans.SimilarityTransform()
    tform.estimate(landmark, ARCFACE_DST)
    return cv2.warpAffine(img, tform.params[0:2, :], (image_size, image_size), borderValue=0.0)


class Recognizer:
    """ArcFaceONNX.get_feat on cv2.dnn: blobFromImage(swapRB) (p - mean) / std, then L2 normalisation."""

    def __init__(self, path, mean, std):
        self.net = cv2.dnn.readNetFromONNX(path)
        self.mean, self.std = mean, std

    def embed(self, crop):
        if len(self.mean) == 1 and len(self.std) == 1:
            m = self.mean[0]
            blob = cv2.dnn.blobFromImage(crop, 1.0 / self.std[0], (112, 112), (m, m, m), swapRB=True)
        else:  # per-channel constants (RGB): blobFromImage takes one scale only
            mean = np.array(self.mean * (3 // len(self.mean)), np.float32)
            std = np.array(self.std * (3 // len(self.std)), np.float32)
            rgb = crop[:, :, ::-1].astype(np.float32)
            blob = ((rgb - mean) / std).transpose(2, 0, 1)[None].copy()
        self.net.setInput(blob)
        v = self.net.forward()[0].astype(np.float32)
        return v / np.linalg.norm(v)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", required=True)
    p.add_argument("--detector", required=True, help="scrfd=<onnx> or yunet=<onnx>")
    p.add_argument("--recognizer", required=True)
    p.add_argument("--det-size", type=int, default=640)
    p.add_argument("--det-thresh", type=float, default=0.5)
    p.add_argument("--nms-thresh", type=float, default=0.4)
    p.add_argument("--blob-size", type=int, default=640, help="the detector's fixed input size (the fixture models: 640)")
    p.add_argument("--rec-mean", type=float, nargs="+", default=[127.5])
    p.add_argument("--rec-std", type=float, nargs="+", default=[127.5])
    p.add_argument("--out", required=True)
    a = p.parse_args()

    kind, _, model = a.detector.partition("=")
    if kind not in ("scrfd", "yunet") or not model:
        p.error("--detector must be scrfd=<onnx> or yunet=<onnx>")
    start = time.perf_counter()
    detector = (Yunet if kind == "yunet" else Scrfd)(model, min(a.det_size, a.blob_size), a.det_thresh, a.nms_thresh, a.blob_size)
    recognizer = Recognizer(a.recognizer, a.rec_mean, a.rec_std)
    files = list_images(a.images)
    os.makedirs(a.out, exist_ok=True)

    embeddings, lines = [], []
    counts = {"ok": 0, "no_face": 0, "error": 0}
    for row, name in enumerate(files):
        entry = {"row": row, "file_name": name}
        img = cv2.imread(os.path.join(a.images, name))
        if img is None:
            entry.update(status="error", reason="cv2.imread could not read the file", faces_found=0, embedding_row=None)
        else:
            dets, kpss = detector.detect(img)
            best = choose(dets, img.shape[1], img.shape[0])
            entry["width"], entry["height"] = int(img.shape[1]), int(img.shape[0])
            entry["faces_found"] = int(len(dets))
            entry["detections"] = [[round(float(v), 3) for v in d] for d in dets]
            if best < 0:
                entry.update(status="no_face", reason="no face detected", embedding_row=None)
            else:
                embeddings.append(recognizer.embed(norm_crop(img, kpss[best])))
                entry.update(
                    status="ok",
                    score=float(dets[best, 4]),
                    box=[float(v) for v in dets[best, :4]],
                    landmarks=[[float(x), float(y)] for x, y in kpss[best]],
                    embedding_row=len(embeddings) - 1,
                )
        counts[entry["status"]] += 1
        lines.append(json.dumps(entry))
        del img

    dim = embeddings[0].shape[0] if embeddings else 512
    np.save(os.path.join(a.out, "embeddings.npy"), np.stack(embeddings).astype(np.float32) if embeddings else np.zeros((0, dim), np.float32))
    with open(os.path.join(a.out, "index.jsonl"), "w") as f:
        f.write("".join(line + "\n" for line in lines))
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": len(files), **counts, "seconds": seconds, "imagesPerSecond": len(files) / seconds if seconds else 0,
                      "opencv": cv2.__version__, "threads": cv2.getNumThreads()}))


if __name__ == "__main__":
    sys.exit(main())
