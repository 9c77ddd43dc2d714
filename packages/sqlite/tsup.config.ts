import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // Exported classes keep their own names (a class that a static method refers to would otherwise be emitted as `_Name`).
  keepNames: true,
});
