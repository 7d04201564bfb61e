import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { linkedMdts, requestLink } from "../src/bot.js";
import { client, mockUrl, namespace, reset, world } from "./mock.js";

const second = { mdtId: "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01", ownerId: "333333333333333333" };

describe("linking a second MDT", () => {
  beforeEach(reset);

  it("lists the MDT once its owner approved the request", async () => {
    const api = client();
    const said = await requestLink(api, second.mdtId);
    const id = /^Link request (\S+) for 9b1d3f2e-\S+ is pending, until \S+Z$/.exec(said)?.[1];
    assert.ok(id, said);
    assert.deepEqual(await linkedMdts(api, world.guildId), [world.mdtId]);

    // The MDT's owner approves (in Northca's UI; here, as that owner through the API).
    const approved = await fetch(`${mockUrl}/v1/link-requests/${id}/confirm`, {
      method: "POST",
      headers: {
        "x-partner-key": world.partnerKey,
        "x-discord-guild": world.guildId,
        "x-discord-actor": second.ownerId,
        "x-mock-namespace": namespace,
      },
    });
    assert.equal(approved.status, 200);
    assert.deepEqual((await linkedMdts(api, world.guildId)).sort(), [world.mdtId, second.mdtId].sort());
  });

  it("shows the documented error for an MDT id that is no MDT", async () => {
    assert.equal(await requestLink(client(), "not-an-mdt"), "Northca: Invalid mdt_id");
  });
});
