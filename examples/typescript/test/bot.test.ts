import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { board, closeCall, dispatch, goOnDuty, panic } from "../src/bot.js";
import { client, journal, reset, world } from "./mock.js";

const bubbleton = { name: "B. Bubbleton", badge: "512", department: "Patrol", callsign: "ADAM-12" };

describe("dispatch bot against northca-mock", () => {
  beforeEach(reset);

  it("goes on duty: a shift, then the unit in service", async () => {
    const said = await goOnDuty(client(), world.mdtId, bubbleton);
    assert.match(said, /^B\. Bubbleton \(512\) on duty as ADAM-12, shift \S+$/);

    const sent = await journal();
    assert.deepEqual(
      sent.map((e) => [e.operation_id, e.status]),
      [
        ["createShift", 201],
        ["upsertActiveUnits", 200],
      ],
    );
    assert.equal(sent[0]?.headers["x-partner-key"], "[redacted]");
    assert.deepEqual(sent[1]?.body, {
      units: [{ id: "ADAM-12", status: "10-8", officer_name: "B. Bubbleton", officer_badge: "512", department: "Patrol" }],
    });
  });

  it("shows an opened call on the board until it is closed", async () => {
    const api = client();
    await goOnDuty(api, world.mdtId, bubbleton);
    const opened = await dispatch(api, world.mdtId, {
      classification: "TRAFFIC STOP",
      location: "Mango St & 67th Ave",
      priority: "low",
      units: ["ADAM-12"],
    });
    const callId = /^Call (\S+) opened/.exec(opened)?.[1];
    assert.ok(callId, opened);

    assert.deepEqual(await board(api, world.mdtId), [
      `CALL ${callId} [low] TRAFFIC STOP @ Mango St & 67th Ave`,
      "UNIT ADAM-12 10-8",
    ]);
    assert.equal(await closeCall(api, world.mdtId, callId), `Call ${callId} closed`);
    assert.deepEqual(await board(api, world.mdtId), ["UNIT ADAM-12 10-8"]);
  });

  it("raises a panic with the time the API gives", async () => {
    const api = client();
    await goOnDuty(api, world.mdtId, bubbleton);
    const said = await panic(api, world.mdtId, "ADAM-12");
    assert.match(said, /^10-33 ADAM-12 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const last = (await journal()).at(-1);
    assert.equal(last?.operation_id, "triggerUnitPanic");
  });

  it("shows the API's own error strings", async () => {
    assert.equal(await panic(client(), world.mdtId, "NOBODY-1"), "Northca: Unit not found");
    assert.equal(
      await goOnDuty(client({ partnerKey: "not-a-key" }), world.mdtId, bubbleton),
      "Northca: Unauthorized",
    );
    assert.deepEqual(
      (await journal()).map((e) => [e.operation_id, e.status]),
      [
        ["triggerUnitPanic", 404],
        ["createShift", 401],
      ],
    );
  });

  it("starts each test from the world", async () => {
    assert.deepEqual(await journal(), []);
    assert.deepEqual(await board(client(), world.mdtId), []);
  });
});
