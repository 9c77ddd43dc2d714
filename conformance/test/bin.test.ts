import { execFile, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as { name: string; version: string; type: string; bin: Record<string, string>; files: string[] };
const COMMAND = "langgraph-persist-conformance";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** pnpm as the test runner was started with it (`pnpm test`), else from PATH; undefined when there is none. */
function pnpm(): { file: string; prefix: string[] } | undefined {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm(\.c?js)?$/.test(execPath) && existsSync(execPath)) {
    return /\.c?js$/.test(execPath) ? { file: process.execPath, prefix: [execPath] } : { file: execPath, prefix: [] };
  }
  try {
    execFileSync("pnpm", ["--version"], { stdio: "ignore" });
    return { file: "pnpm", prefix: [] };
  } catch {
    return undefined;
  }
}

const tmp = mkdtempSync(join(tmpdir(), "lgp-conformance-bin-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe(`the ${COMMAND} command`, () => {
  it("is a file of the package as committed, not a build output, so it can be linked before the package is built", () => {
    const target = manifest.bin[COMMAND];
    expect(target).toBeDefined();
    const relative = normalize(target);
    expect(relative.split(/[\\/]/)[0]).not.toBe("dist");
    expect(existsSync(join(PACKAGE_DIR, relative))).toBe(true);
    expect(manifest.files).toContain(relative.split(/[\\/]/)[0]);
    expect(readFileSync(join(PACKAGE_DIR, relative), "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
    let tracked: string | undefined;
    try {
      tracked = execFileSync("git", ["ls-files", "--", relative], { cwd: PACKAGE_DIR, encoding: "utf8" }).trim();
    } catch {
      // not a git checkout (e.g. an unpacked tarball): nothing more to check
    }
    if (tracked !== undefined) expect(tracked).toBe(relative.replace(/\\/g, "/"));
  });

  const manager = pnpm();
  it.skipIf(!manager)(`pnpm links it in a project that installs the package before it is built, and it runs once built${manager ? "" : " [skipped: pnpm not found]"}`, async () => {
    // The package as a workspace checkout has it before `pnpm build`: manifest and committed files, no dist/.
    const pkg = join(tmp, "conformance");
    mkdirSync(pkg);
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: manifest.name, version: manifest.version, type: manifest.type, bin: manifest.bin, files: manifest.files }, null, 2));
    for (const entry of manifest.files.filter((f) => f !== "dist")) cpSync(join(PACKAGE_DIR, entry), join(pkg, entry), { recursive: true });
    const app = join(tmp, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, dependencies: { [manifest.name]: "link:../conformance" } }));

    const install = await run(manager!.file, [...manager!.prefix, "install", "--offline"], { cwd: app });
    expect(install.code, install.stderr + install.stdout).toBe(0);
    expect(install.stdout + install.stderr).not.toMatch(/Failed to create bin/);
    const bin = join(app, "node_modules", ".bin", COMMAND);
    expect(existsSync(bin)).toBe(true);

    const unbuilt = await run(bin, ["--help"], { cwd: app });
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.stderr).toMatch(/dist[\\/]cli\.js is missing: the package has not been built/);

    // The build: this package's dist/, which the test run's build produced.
    symlinkSync(join(PACKAGE_DIR, "dist"), join(pkg, "dist"), "dir");
    const help = await run(bin, ["--help"], { cwd: app });
    expect(help.stderr).toBe("");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: ${COMMAND} <harness-module>`);
    const missing = await run(bin, ["./my-harness.ts"], { cwd: app });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`${COMMAND}: harness module not found: ${join(app, "my-harness.ts")}`);
  }, 120_000);
});
