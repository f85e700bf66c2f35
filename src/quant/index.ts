// Quantization methods beyond round to nearest: the public names (README "Quantization methods").
export { hessianFromActivations, activationStats } from "./calib";
export { quantizationError } from "./metrics";
export type { QuantizationError } from "./metrics";
export { awqQuantize, awqScales, awqFoldIntoNorm, awqFoldIntoRows } from "./awq";
export type { AwqOptions, AwqResult } from "./awq";
export { METHODS } from "./methods";
export type { QuantMethod } from "./methods";
