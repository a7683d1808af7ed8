"""Reference outputs from Debian's python3-opencv / python3-skimage for the face engine parity tests.

Run with /usr/bin/python3 (the product never needs Python). Reads one JSON request on stdin:
  {"mode": "align", "out": dir, "items": [{"raw": file, "width": w, "height": h, "landmarks": [[x, y] x5]}]}
      -> writes <out>/<i>.rgb: InsightFace norm_crop (skimage SimilarityTransform + cv2.warpAffine,
         borderValue 0), 112x112 RGB bytes.
  {"mode": "yunet", "model": onnx, "size": 640, "score": 0.5, "nms": 0.4, "items": [{"raw", "width", "height"}]}
      -> prints JSON: per item, faces [x1, y1, x2, y2, score, 10 keypoints] in image pixels, the image
         letterboxed to the top-left exactly as InsightFace's SCRFD does. The model runs in cv2.dnn and
         is decoded as OpenCV >= 4.8's FaceDetectorYN::postProcess does (Debian's OpenCV 4.6
         FaceDetectorYN predates the 2023mar output layout, so it cannot load the model itself).
Raw files hold packed 8-bit RGB rows, so both sides see identical pixels (no decoder differences).
"""
import json
import os
import sys

import cv2
import numpy as np
from skimage import transform as trans

ARCFACE_DST = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def load(item):
    rgb = np.fromfile(item["raw"], dtype=np.uint8).reshape(item["height"], item["width"], 3)
    return rgb


def norm_crop(img, landmark, image_size=112):
    # insightface/utils/face_align.py estimate_norm + norm_crop (ratio 1, diff_x 0 at 112)
    tform = trans.SimilarityTransform()
    tform.estimate(np.array(landmark, dtype=np.float32), ARCFACE_DST)
    M = tform.params[0:2, :]
    return cv2.warpAffine(img, M, (image_size, image_size), borderValue=0.0)


def letterbox(img, size):
    im_ratio = float(img.shape[0]) / img.shape[1]
    if im_ratio > 1.0:
        new_h = size
        new_w = int(new_h / im_ratio)
    else:
        new_w = size
        new_h = int(new_w * im_ratio)
    scale = float(new_h) / img.shape[0]
    out = np.zeros((size, size, 3), dtype=np.uint8)
    out[:new_h, :new_w, :] = cv2.resize(img, (new_w, new_h))
    return out, scale


def main():
    req = json.load(sys.stdin)
    if req["mode"] == "align":
        for i, item in enumerate(req["items"]):
            crop = norm_crop(load(item), item["landmarks"])
            crop.astype(np.uint8).tofile(os.path.join(req["out"], f"{i}.rgb"))
        print(json.dumps({"ok": len(req["items"])}))
    elif req["mode"] == "yunet":
        size = req["size"]
        net = cv2.dnn.readNetFromONNX(req["model"])
        strides = [8, 16, 32]
        names = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in strides]
        results = []
        for item in req["items"]:
            bgr = cv2.cvtColor(load(item), cv2.COLOR_RGB2BGR)
            padded, scale = letterbox(bgr, size)
            net.setInput(cv2.dnn.blobFromImage(padded))
            outs = net.forward(names)
            faces, boxes, scores = [], [], []
            for i, stride in enumerate(strides):
                cls, obj, bbox, kps = (outs[i + 3 * k][0] for k in range(4))
                cols = size // stride
                for idx in range(cls.shape[0]):
                    score = float(np.sqrt(np.clip(cls[idx, 0], 0, 1) * np.clip(obj[idx, 0], 0, 1)))
                    if score < req["score"]:
                        continue
                    r, c = divmod(idx, cols)
                    cx, cy = (c + bbox[idx, 0]) * stride, (r + bbox[idx, 1]) * stride
                    w, h = np.exp(bbox[idx, 2]) * stride, np.exp(bbox[idx, 3]) * stride
                    x1, y1 = cx - w / 2, cy - h / 2
                    pts = [float((kps[idx, 2 * n + j] + (c, r)[j]) * stride / scale) for n in range(5) for j in range(2)]
                    faces.append([float(x1 / scale), float(y1 / scale), float((x1 + w) / scale), float((y1 + h) / scale), score] + pts)
                    boxes.append([int(x1), int(y1), int(w), int(h)])
                    scores.append(score)
            keep = cv2.dnn.NMSBoxes(boxes, scores, req["score"], req["nms"], top_k=5000) if boxes else []
            results.append([faces[int(k)] for k in np.array(keep).reshape(-1)])
        print(json.dumps(results))
    else:
        raise SystemExit("unknown mode " + req["mode"])


if __name__ == "__main__":
    main()
