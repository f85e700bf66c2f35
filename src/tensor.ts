// A float32 tensor: data plus a shape, checked at construction (like onnxruntime-common's Tensor).
import { checkDims, rangeError, typeError } from "./errors";

export class Tensor {
  readonly type = "float32" as const;
  readonly dims: readonly number[];
  readonly size: number;
  #data: Float32Array | null;

  /** `x instanceof Tensor` only for objects this class constructed (not Object.create(Tensor.prototype)). */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === "object" && v !== null && #data in v;
  }

  /**
   * @param data row-major values; its length must equal the product of `dims`
   * @param dims the shape, e.g. [N, K]; defaults to [data.length]
   */
  constructor(data: Float32Array, dims?: readonly number[]) {
    if (!(data instanceof Float32Array)) throw typeError("Tensor data", "a Float32Array", data);
    const shape = checkDims("Tensor dims", dims === undefined ? [data.length] : dims);
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) {
      throw rangeError("Tensor data", `length ${size} for dims [${shape.join(", ")}]`, `length ${data.length}`);
    }
    this.#data = data;
    this.dims = Object.freeze(shape);
    this.size = size;
  }

  /** The values, row-major. Throws after dispose(). */
  get data(): Float32Array {
    if (!this.#data) throw new Error("Tensor: used after dispose()");
    return this.#data;
  }

  get disposed(): boolean {
    return this.#data === null;
  }

  /** The same data under another shape of the same size. */
  reshape(dims: readonly number[]): Tensor {
    return new Tensor(this.data, dims);
  }

  /** Drops the reference to the data so it can be collected. */
  dispose(): void {
    this.#data = null;
  }
}
