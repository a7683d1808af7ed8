/**
 * The faces stage: takes decoded RGB images and the detector/recognizer model files, and gives the chosen face of each
 * image (box, 5 landmarks, score), its ArcFace-aligned 112x112 crop and its L2-normalised embedding.
 */
export type { DetectorSpec, RecognizerSpec, DeviceChoice, Detection, FaceResult, FaceDetector } from "./types.ts";
export { FaceEngine, createDetector, type FaceEngineParams, type LocatedFace } from "./face-engine.ts";
export { calibrateSession, threadCandidates, CALIBRATION_MODES, type CalibrationMode, type CalibratedSession } from "./calibrate-session.ts";
export { sessionOptionsOf, describeChoice, type SessionChoice } from "./session-options.ts";
export { ScrfdDetector, type DetectorCreateParams } from "./scrfd-detector.ts";
export { YunetDetector } from "./yunet-detector.ts";
export { chooseFace, chooseFaceIndex, faceChoiceScore } from "./choose-face.ts";
export { alignFace, alignmentMatrix, warpAffine, ARCFACE_TEMPLATE, ALIGNED_SIZE } from "./align-face.ts";
export { estimateSimilarity, type Affine2x3 } from "./estimate-similarity.ts";
export { ArcFaceRecognizer, type RecognizerCreateParams } from "./arcface-recognizer.ts";
export { loadOnnxSession, openSession, AUTO_DEVICE_ORDER, type ConcreteDevice, type LoadedSession } from "./onnx-session.ts";
export { insightFaceNormalisation, firstNodeNames } from "./insightface-normalisation.ts";
