import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isReadCall } from "./writer-thread.ts";

describe("which store calls stay on the event loop", () => {
  it("reads by name stay; writes and anything else go to the writer thread", () => {
    for (const read of ["listSources", "getAlert", "countEvents", "searchEvents", "queryEvents", "loadRuleState"])
      assert.ok(isReadCall(read), read);
    for (const read of ["alertCounts", "sourceCounts", "loginWaits", "eventTypeCounts"])
      assert.ok(isReadCall(read), read);
    for (const write of [
      "applyPage",
      "applyPages",
      "createSource",
      "setAlertStatus",
      "claimDeliveries",
      "indexPendingText",
    ])
      assert.ok(!isReadCall(write), write);
    // A prefix only counts as a whole word of the name.
    for (const write of ["listen", "getaway", "loader"]) assert.ok(!isReadCall(write), write);
  });
});
