import { describe, expect, it } from "vitest";
import { parseBackendUrl, redactUrl } from "../src/backends.js";
import { CliError } from "../src/errors.js";
import { parseDuration } from "../src/format.js";

describe("parseBackendUrl", () => {
  it("memory and every SQLite spelling", () => {
    expect(parseBackendUrl("memory:")).toMatchObject({ kind: "memory" });
    expect(parseBackendUrl("sqlite:./agent.db")).toMatchObject({ kind: "sqlite", target: "./agent.db" });
    expect(parseBackendUrl("sqlite://data/agent.db")).toMatchObject({ kind: "sqlite", target: "data/agent.db" });
    expect(parseBackendUrl("sqlite:///var/lib/agent.db")).toMatchObject({ kind: "sqlite", target: "/var/lib/agent.db" });
    expect(parseBackendUrl("sqlite::memory:")).toMatchObject({ kind: "sqlite", target: ":memory:" });
    expect(parseBackendUrl("./agent.sqlite?tablePrefix=app_")).toMatchObject({ kind: "sqlite", target: "./agent.sqlite", params: { tablePrefix: "app_" } });
    expect(parseBackendUrl("/abs/path/demo.db")).toMatchObject({ kind: "sqlite", target: "/abs/path/demo.db" });
    expect(parseBackendUrl("C:\\data\\agent.db")).toMatchObject({ kind: "sqlite", target: "C:\\data\\agent.db" });
  });

  it("server URLs keep driver parameters and take the CLI's own", () => {
    expect(parseBackendUrl("postgresql://u:p@h:5432/db?sslmode=require&schema=agents")).toMatchObject({
      kind: "postgres",
      target: "postgresql://u:p@h:5432/db?sslmode=require",
      params: { schema: "agents" },
      display: "postgresql://u:***@h:5432/db?sslmode=require&schema=agents",
    });
    expect(parseBackendUrl("rediss://:pw@h:6380/2?keyPrefix=app")).toMatchObject({ kind: "redis", target: "rediss://:pw@h:6380/2", params: { keyPrefix: "app" } });
    expect(parseBackendUrl("mongodb://a:27017,b:27018/app?replicaSet=rs0&collectionPrefix=x_")).toMatchObject({
      kind: "mongodb",
      target: "mongodb://a:27017,b:27018/app?replicaSet=rs0",
      params: { collectionPrefix: "x_" },
    });
    expect(parseBackendUrl("mongodb+srv://u:p@cluster.example.net/app")).toMatchObject({ kind: "mongodb" });
  });

  it("Redis Cluster: every seed, the first one as the adapter's URL", () => {
    expect(parseBackendUrl("redis+cluster://u:p@10.0.0.1:7000,10.0.0.2:7001?keyPrefix=app")).toMatchObject({
      kind: "redis",
      target: "redis://u:p@10.0.0.1:7000",
      params: { keyPrefix: "app" },
      clusterSeeds: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ],
    });
    expect(parseBackendUrl("redis://h:7000?cluster=true")).toMatchObject({ target: "redis://h:7000", clusterSeeds: [{ host: "h", port: 7000 }] });
  });

  it("anything else is a CliError naming the supported forms", () => {
    for (const bad of ["mysql://h/db", "agent.txt", "", "sqlite:"]) {
      expect(() => parseBackendUrl(bad), bad).toThrow(CliError);
    }
    expect(() => parseBackendUrl("mysql://h/db")).toThrow(/unknown backend scheme "mysql:".*sqlite:<path>.*postgres:\/\//);
  });

  it("redacts passwords", () => {
    expect(redactUrl("postgres://app:s3cret@db/app")).toBe("postgres://app:***@db/app");
    expect(redactUrl("redis://:s3cret@cache:6379")).toBe("redis://:***@cache:6379");
    expect(redactUrl("sqlite:./a.db")).toBe("sqlite:./a.db");
  });
});

describe("parseDuration", () => {
  const day = 86_400_000;
  it("units and combinations", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("15min")).toBe(900_000);
    expect(parseDuration("12h")).toBe(12 * 3_600_000);
    expect(parseDuration("7d")).toBe(7 * day);
    expect(parseDuration("1d12h")).toBe(36 * 3_600_000);
    expect(parseDuration("2w")).toBe(14 * day);
    expect(parseDuration("3mo")).toBe(90 * day);
    expect(parseDuration("1y")).toBe(365 * day);
    expect(parseDuration("1mo2w")).toBe(44 * day);
    expect(parseDuration("2 hours 30 minutes")).toBe(150 * 60_000);
    expect(parseDuration("1 Month")).toBe(30 * day);
    for (const bad of ["", "10", "3x", "d", "0d", "1d junk", "5ms", "2constructor"]) expect(() => parseDuration(bad), bad).toThrow(/invalid duration/);
  });

  it("a bare m (minutes or months?) is refused with both spellings offered", () => {
    for (const [text, amount] of [["1m", "1"], ["30m", "30"], ["1d6m", "6"], ["2 M", "2"]]) {
      expect(() => parseDuration(text), text).toThrow(`invalid duration ${JSON.stringify(text)}: "m" is ambiguous: write ${amount}min for minutes or ${amount}mo for months`);
    }
  });

  it("says what is wrong: a missing or an unknown unit", () => {
    expect(() => parseDuration("10")).toThrow('invalid duration "10": 10 needs a unit: s, min, h, d, w, mo or y (e.g. 30s, 15min, 12h, 7d, 2w, 3mo, 1y, 1d12h)');
    expect(() => parseDuration("3x")).toThrow('invalid duration "3x": unknown unit "x": use s, min, h, d, w, mo or y');
  });
});
