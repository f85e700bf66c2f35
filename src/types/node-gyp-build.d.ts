declare module "node-gyp-build" {
  /** Loads the native addon of the package at `dir`: a local build, else a matching prebuild. */
  function load(dir: string): unknown;
  namespace load {
    /** The file load(dir) would require: build/Release, build/Debug, else a matching prebuild; throws when none. */
    function resolve(dir: string): string;
  }
  export = load;
}
