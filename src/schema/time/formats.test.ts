// Time formats: Panther's codecs (rfc3339, unix*, strftime, Go layouts) and its text format.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileTimeFormat, type TimeParser } from "./formats.ts";
import { civilFromDays, daysFromCivil, formatPantherTime, type Instant } from "./instant.ts";

function parser(format: string): TimeParser {
  const p = compileTimeFormat(format);
  assert.equal(typeof p, "function", `format ${format}: ${String(p)}`);
  return p as TimeParser;
}

function text(format: string, value: unknown): string {
  const r = parser(format)(value);
  assert.ok(r !== null && typeof r === "object", `${format} ${JSON.stringify(value)}: ${String(r)}`);
  return formatPantherTime(r as Instant);
}

function fails(format: string, value: unknown): void {
  assert.equal(typeof parser(format)(value), "string", `${format} should reject ${JSON.stringify(value)}`);
}

describe("Panther's timestamp text", () => {
  it("is UTC with nine fraction digits and four year digits", () => {
    assert.equal(formatPantherTime({ sec: 0, nsec: 0 }), "1970-01-01 00:00:00.000000000");
    assert.equal(formatPantherTime({ sec: 1720804090, nsec: 5 }), "2024-07-12 17:08:10.000000005");
    assert.equal(formatPantherTime({ sec: -1, nsec: 999999999 }), "1969-12-31 23:59:59.999999999");
    assert.equal(formatPantherTime({ sec: -62135596800, nsec: 0 }), "0001-01-01 00:00:00.000000000");
  });

  it("calendar conversion round-trips over four centuries", () => {
    for (let days = -800000; days < 800000; days += 997) {
      const { year, month, day } = civilFromDays(days);
      assert.equal(daysFromCivil(year, month, day), days);
    }
  });
});

describe("rfc3339", () => {
  it("accepts RFC3339 and RFC3339Nano with offsets", () => {
    assert.equal(text("rfc3339", "2024-07-12T17:08:10Z"), "2024-07-12 17:08:10.000000000");
    assert.equal(text("rfc3339", "2024-07-12T19:08:10.5+02:00"), "2024-07-12 17:08:10.500000000");
    assert.equal(text("rfc3339", "2024-07-12T17:08:10.123456789123Z"), "2024-07-12 17:08:10.123456789");
    assert.equal(text("rfc3339", "2024-02-29T00:00:00-00:30"), "2024-02-29 00:30:00.000000000");
  });

  it("rejects other text and impossible dates", () => {
    for (const v of [
      "2024-07-12 17:08:10Z",
      "2024-07-12T17:08:10",
      "2023-02-29T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-07-12T24:00:00Z",
      "x",
    ])
      fails("rfc3339", v);
    fails("rfc3339", 1720804090);
  });

  it("reads empty text and null as absent", () => {
    assert.equal(parser("rfc3339")(""), null);
    assert.equal(parser("rfc3339")(null), null);
  });
});

describe("unix formats", () => {
  it("unix: seconds as number or text, fractions truncated to microseconds", () => {
    assert.equal(text("unix", 1720804090), "2024-07-12 17:08:10.000000000");
    assert.equal(text("unix", "1720804090.123456789"), "2024-07-12 17:08:10.123456000");
    assert.equal(text("unix", 1.5e9), "2017-07-14 02:40:00.000000000");
    assert.equal(text("unix", -1.5), "1969-12-31 23:59:58.500000000");
    for (const v of ["abc", "1e", " 1", "NaN", true, {}]) fails("unix", v);
  });

  it("unix_ms / unix_us / unix_ns: integers as number or text", () => {
    assert.equal(text("unix_ms", 1720804090123), "2024-07-12 17:08:10.123000000");
    assert.equal(text("unix_ms", "-1"), "1969-12-31 23:59:59.999000000");
    assert.equal(text("unix_us", 1720804090123456), "2024-07-12 17:08:10.123456000");
    assert.equal(text("unix_ns", "1720804090123456789"), "2024-07-12 17:08:10.123456789");
    for (const f of ["unix_ms", "unix_us", "unix_ns"]) {
      fails(f, 1.5);
      fails(f, "1.5");
      fails(f, "abc");
    }
    fails("unix_ns", "99999999999999999999");
  });

  it("rejects times beyond year 9999", () => {
    fails("unix", 1e20);
    fails("unix_ms", "9000000000000000");
  });
});

describe("strftime patterns", () => {
  const cases: Array<[string, string, string]> = [
    ["%Y-%m-%d %H:%M:%S", "2024-07-12 17:08:10", "2024-07-12 17:08:10.000000000"],
    ["%Y-%m-%dT%H:%M:%S.%f%z", "2024-07-12T19:08:10.25+0200", "2024-07-12 17:08:10.250000000"],
    ["%d/%b/%Y:%H:%M:%S %z", "12/jul/2024:10:08:10 -07:00", "2024-07-12 17:08:10.000000000"],
    ["%a, %d %B %Y %I:%M:%S %p %Z", "Fri, 12 July 2024 05:08:10 PM UTC", "2024-07-12 17:08:10.000000000"],
    ["%m/%d/%y %I%p", "07/12/24 12AM", "2024-07-12 00:00:00.000000000"],
    ["%Y %j", "2024 366", "2024-12-31 00:00:00.000000000"],
    ["%s", "1720804090", "2024-07-12 17:08:10.000000000"],
    ["%F %T", "2024-07-12 17:08:10", "2024-07-12 17:08:10.000000000"],
    ["%c", "Fri Jul 12 17:08:10 2024", "2024-07-12 17:08:10.000000000"],
    ["%b %e %H:%M:%S", "Jul  2 17:08:10", "1970-07-02 17:08:10.000000000"],
    ["%Y-%m-%d %H:%M:%S %Z", "2024-07-12 12:08:10 EST", "2024-07-12 17:08:10.000000000"],
    ["100%% at %H:%M", "100% at 17:08", "1970-01-01 17:08:00.000000000"],
    ["%y", "69", "1969-01-01 00:00:00.000000000"],
  ];
  for (const [format, value, expected] of cases) {
    it(`${format} reads ${JSON.stringify(value)}`, () => assert.equal(text(format, value), expected));
  }

  it("rejects text that does not match or is out of range", () => {
    fails("%Y-%m-%d", "2024-7-1x");
    fails("%Y-%m-%d", "2024-02-30");
    fails("%H:%M", "25:00");
    fails("%Y-%m-%d", 20240712);
  });

  it("rejects unsupported directives when the schema is loaded", () => {
    assert.match(String(compileTimeFormat("%Y %Q")), /unsupported strftime directive %Q/);
    assert.match(String(compileTimeFormat("%Y %")), /lone %/);
  });
});

describe("Go layouts", () => {
  const cases: Array<[string, string, string]> = [
    ["layout=2006-01-02 15:04:05", "2024-07-12 17:08:10", "2024-07-12 17:08:10.000000000"],
    ["layout=2006-01-02 15:04:05", "2024-07-12 17:08:10.5", "2024-07-12 17:08:10.500000000"],
    ["layout=02/Jan/2006:15:04:05 -0700", "12/Jul/2024:10:08:10 -0700", "2024-07-12 17:08:10.000000000"],
    ["layout=Mon Jan _2 15:04:05 MST 2006", "Fri Jul  2 17:08:10 UTC 2024", "2024-07-02 17:08:10.000000000"],
    ["layout=2006-01-02T15:04:05.000Z07:00", "2024-07-12T17:08:10.123Z", "2024-07-12 17:08:10.123000000"],
    ["layout=1/2/06 3:04PM", "7/12/24 5:08PM", "2024-07-12 17:08:00.000000000"],
  ];
  for (const [format, value, expected] of cases) {
    it(`${format} reads ${JSON.stringify(value)}`, () => assert.equal(text(format, value), expected));
  }

  it("follows Go's digit rules", () => {
    fails("layout=2006-01-02", "2024-7-12");
    fails("layout=2006-01-02T15:04:05.000Z07:00", "2024-07-12T17:08:10.12Z");
  });

  it("rejects a layout without any element", () => {
    assert.match(String(compileTimeFormat("layout=hello")), /no date or time element/);
  });
});
