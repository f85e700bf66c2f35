declare module "node-gyp-build" {
  /** Loads the native addon of the package at `dir`: a local build, else a matching prebuild. */
  function load(dir: string): unknown;
  export = load;
}
