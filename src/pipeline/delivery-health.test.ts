import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AlertRecord } from "../core/alert.ts";
import type { DestinationFailing, DestinationRecord } from "../core/destination.ts";
import { planDeliveryHealth } from "./delivery-health.ts";

const MIN = 60_000;

function destination(id: string, failing: Partial<DestinationFailing> | null): DestinationRecord {
  return {
    id,
    name: `dest-${id}`,
    type: "webhook",
    minSeverity: "INFO",
    logTypes: [],
    managedBy: null,
    failing:
      failing === null
        ? null
        : {
            sinceMs: 0,
            latestMs: 0,
            deliveryId: `d-${id}`,
            alertId: `a-${id}`,
            error: "HTTP 503",
            dead: false,
            recovered: false,
            ...failing,
          },
    lastDeliveredAtMs: null,
    createdAtMs: 0,
    updatedAtMs: 0,
  };
}

const alert = (id: string) => ({ id }) as AlertRecord;

describe("planDeliveryHealth", () => {
  it("raises for a dead letter at once, for failures only once they span the threshold, never beside an open alert", () => {
    const plan = planDeliveryHealth(
      [
        destination("dead", { sinceMs: 10 * MIN, latestMs: 10 * MIN, dead: true }),
        destination("long", { sinceMs: 1 * MIN, latestMs: 6 * MIN }),
        destination("short", { sinceMs: 1 * MIN, latestMs: 6 * MIN - 1 }),
        // Long ago, but observed once: Vigil was stopped meanwhile, which proves nothing about the receiver.
        destination("stale", { sinceMs: 0, latestMs: 0 }),
        destination("open", { sinceMs: 0, latestMs: 60 * MIN, dead: true }),
        destination("fine", null),
      ],
      new Map([["open", [alert("x")]]]),
      5 * MIN,
    );
    assert.deepEqual(
      plan.raise.map((f) => [f.destinationId, f.deliveryId, f.dead]),
      [
        ["dead", "d-dead", true],
        ["long", "d-long", false],
      ],
    );
    assert.deepEqual(plan.resolve, []);
  });

  it("resolves the open alerts of a destination that works again, or was removed (duplicates too)", () => {
    const plan = planDeliveryHealth(
      [destination("fine", null), destination("failing", { sinceMs: 9 * MIN })],
      new Map([
        ["fine", [alert("a"), alert("b")]],
        ["removed", [alert("c")]],
        ["failing", [alert("d")]],
      ]),
    );
    assert.deepEqual(
      plan.resolve.map((a) => a.id),
      ["a", "b", "c"],
    );
    assert.deepEqual(plan.raise, []);
  });
});
