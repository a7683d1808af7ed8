"""OpenCV DNN reference for `npm run bench:embed`: the same face pipeline as idclusters' engine
(decode, SCRFD or YuNet detection with the top-left letterbox, the release's face choice rule,
InsightFace norm_crop, MobileFaceNet embedding, L2 normalisation) in Python with Debian's
python3-opencv and python3-skimage, written the way InsightFace's own code does it (vectorised
numpy decoding). Prints images/s per stage and end to end as JSON on stdout.

Usage: /usr/bin/python3 scripts/bench-embed.py --detector scrfd --model M --recognizer R --det-size 256 FILES...
"""
import argparse
import json
import time

import cv2
import numpy as np
from skimage import transform as trans

ARCFACE_DST = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def letterbox(img, fit, blob_size):
    im_ratio = float(img.shape[0]) / img.shape[1]
    if im_ratio > 1.0:
        new_h = fit
        new_w = int(new_h / im_ratio)
    else:
        new_w = fit
        new_h = int(new_w * im_ratio)
    scale = float(new_h) / img.shape[0]
    out = np.zeros((blob_size, blob_size, 3), dtype=np.uint8)
    out[:new_h, :new_w, :] = cv2.resize(img, (new_w, new_h))
    return out, scale


def nms(dets, thresh):
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
        ovr = w * h / (areas[i] + areas[order[1:]] - w * h)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


class Scrfd:
    def __init__(self, path, det_size, thresh=0.5):
        self.net = cv2.dnn.readNetFromONNX(path)
        self.names = [f"{k}_{s}" for k in ("score", "bbox", "kps") for s in (8, 16, 32)]
        self.det_size, self.thresh, self.centers = det_size, thresh, {}

    def detect(self, bgr):
        img, scale = letterbox(bgr, self.det_size, 640)
        self.net.setInput(cv2.dnn.blobFromImage(img, 1.0 / 128, (640, 640), (127.5, 127.5, 127.5), swapRB=True))
        outs = self.net.forward(self.names)
        scores_l, boxes_l, kps_l = [], [], []
        for i, stride in enumerate((8, 16, 32)):
            scores, bbox, kps = outs[i][0], outs[i + 3][0] * stride, outs[i + 6][0] * stride
            key = (640 // stride, 640 // stride)
            if key not in self.centers:
                c = np.stack(np.mgrid[: key[0], : key[1]][::-1], axis=-1).astype(np.float32)
                self.centers[key] = np.stack([(c * stride).reshape(-1, 2)] * 2, axis=1).reshape(-1, 2)
            centers = self.centers[key]
            pos = np.where(scores[:, 0] >= self.thresh)[0]
            b = np.stack([centers[:, 0] - bbox[:, 0], centers[:, 1] - bbox[:, 1], centers[:, 0] + bbox[:, 2], centers[:, 1] + bbox[:, 3]], axis=-1)
            k = np.concatenate([centers[:, None, :] + kps.reshape(-1, 5, 2)], axis=0)
            scores_l.append(scores[pos, 0])
            boxes_l.append(b[pos] / scale)
            kps_l.append(k[pos] / scale)
        scores = np.concatenate(scores_l)
        if scores.size == 0:
            return []
        boxes, kps = np.concatenate(boxes_l), np.concatenate(kps_l)
        dets = np.hstack([boxes, scores[:, None]])
        keep = nms(dets, 0.4)
        return [(dets[i], kps[i]) for i in keep]


class Yunet:
    def __init__(self, path, det_size, thresh=0.5):
        self.net = cv2.dnn.readNetFromONNX(path)
        self.names = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32)]
        self.det_size, self.thresh = det_size, thresh

    def detect(self, bgr):
        img, scale = letterbox(bgr, self.det_size, 640)
        self.net.setInput(cv2.dnn.blobFromImage(img))
        outs = self.net.forward(self.names)
        found = []
        for i, stride in enumerate((8, 16, 32)):
            cls, obj, bbox, kps = (outs[i + 3 * k][0] for k in range(4))
            score = np.sqrt(np.clip(cls[:, 0], 0, 1) * np.clip(obj[:, 0], 0, 1))
            pos = np.where(score > self.thresh)[0]
            cols = 640 // stride
            r, c = np.divmod(pos, cols)
            cx, cy = (c + bbox[pos, 0]) * stride, (r + bbox[pos, 1]) * stride
            w, h = np.exp(bbox[pos, 2]) * stride, np.exp(bbox[pos, 3]) * stride
            boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1) / scale
            pts = (kps[pos].reshape(-1, 5, 2) + np.stack([c, r], axis=-1)[:, None, :]) * stride / scale
            found += [(np.append(boxes[j], score[pos[j]]), pts[j]) for j in range(len(pos))]
        if not found:
            return []
        dets = np.array([d for d, _ in found])
        keep = cv2.dnn.NMSBoxes(dets[:, :4].tolist(), dets[:, 4].tolist(), self.thresh, 0.4)
        return [found[int(k)] for k in np.array(keep).reshape(-1)]


def choose(faces, w, h):
    best, best_score = None, -1.0
    for det, kps in faces:
        area = (det[2] - det[0]) * (det[3] - det[1])
        offset = np.hypot((det[0] + det[2]) / 2 - w / 2, (det[1] + det[3]) / 2 - h / 2) / np.hypot(w, h)
        s = area * (1 - offset) ** 2
        if s > best_score:
            best, best_score = (det, kps), s
    return best


def norm_crop(img, landmark):
    tform = trans.SimilarityTransform()
    tform.estimate(landmark, ARCFACE_DST)
    return cv2.warpAffine(img, tform.params[0:2, :], (112, 112), borderValue=0.0)


def embed(net, crops):
    out = []
    for crop in crops:  # the fixture MobileFaceNet has its batch fixed at 1
        net.setInput(cv2.dnn.blobFromImage(crop, 1.0 / 128, (112, 112), (127, 127, 127), swapRB=True))
        v = net.forward()[0]
        out.append(v / np.linalg.norm(v))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--detector", default="scrfd")
    p.add_argument("--model", required=True)
    p.add_argument("--recognizer", required=True)
    p.add_argument("--det-size", type=int, default=256)
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    det = (Yunet if a.detector == "yunet" else Scrfd)(a.model, a.det_size)
    rec = cv2.dnn.readNetFromONNX(a.recognizer)
    n = len(a.files)
    # warm-up
    w0 = cv2.imread(a.files[0])
    f0 = choose(det.detect(w0), w0.shape[1], w0.shape[0])
    embed(rec, [norm_crop(w0, f0[1])])

    t = time.perf_counter()
    images = [cv2.imread(f) for f in a.files]
    t_decode = time.perf_counter() - t
    t = time.perf_counter()
    chosen = [choose(det.detect(img), img.shape[1], img.shape[0]) for img in images]
    t_detect = time.perf_counter() - t
    t = time.perf_counter()
    crops = [norm_crop(img, c[1]) for img, c in zip(images, chosen) if c is not None]
    t_align = time.perf_counter() - t
    t = time.perf_counter()
    embed(rec, crops)
    t_embed = time.perf_counter() - t
    t = time.perf_counter()
    for f in a.files:
        img = cv2.imread(f)
        c = choose(det.detect(img), img.shape[1], img.shape[0])
        if c is not None:
            embed(rec, [norm_crop(img, c[1])])
    t_end = time.perf_counter() - t
    print(json.dumps({
        "images": n, "faces": len(crops),
        "decode": n / t_decode, "detect": n / t_detect, "align": len(crops) / t_align,
        "embed": len(crops) / t_embed, "endToEnd": n / t_end,
    }))


if __name__ == "__main__":
    main()
