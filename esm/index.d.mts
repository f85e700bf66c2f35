export * from "../dist/index.js";
import * as int4 from "../dist/index.js";
export default int4;
