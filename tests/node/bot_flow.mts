// A Discord bot's flow through the Northca Partner API, typed by openapi-typescript and sent
// with openapi-fetch. `tsc --strict` accepts it with no `!` and no cast; node runs it against
// the mock named by NORTHCA_URL and prints what it saw, as JSON, for the test to check.
import createClient from "openapi-fetch";
import type { paths } from "./northca.js";

const GUILD = "123456789012345678";
const MDT = "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2";
const UNLINKED_MDT = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01";
const OWNER = "333333333333333333";

// The partner key and the guild are set once, on the client.
const northca = createClient<paths>({
  baseUrl: process.env.NORTHCA_URL ?? "http://127.0.0.1:4010/v1",
  headers: { "x-partner-key": process.env.NORTHCA_KEY ?? "test-key", "x-discord-guild": GUILD },
});

async function main(): Promise<Record<string, unknown>> {
  // Link the second MDT: ask, then its owner approves (the actor changes per call).
  const asked = await northca.POST("/link-requests", { body: { mdt_id: UNLINKED_MDT } });
  if (asked.error) throw new Error(asked.error.error);
  const request = asked.data.data;
  const approved = await northca.POST("/link-requests/{id}/confirm", {
    params: { path: { id: request.id }, header: { "x-discord-actor": OWNER } },
  });
  if (approved.error) throw new Error(approved.error.error);
  const expires: Date = new Date(request.expires_at ?? Date.now());

  const info = await northca.GET("/mdts/{mdtId}", { params: { path: { mdtId: MDT } } });
  if (info.error) throw new Error(info.error.error);
  const departments: string[] = info.data.data.departments;

  // Dispatch a call, then close it by the id the API gave it.
  const call = await northca.POST("/mdts/{mdtId}/calls", {
    params: { path: { mdtId: MDT } },
    body: { classification: "TRAFFIC STOP", location: "Mango St & 67th Ave", units_assigned: ["ADAM-12"] },
  });
  if (call.error) throw new Error(call.error.error);
  const closed = await northca.PATCH("/mdts/{mdtId}/calls/{callId}", {
    params: { path: { mdtId: MDT, callId: call.data.data.id } },
    body: { status: "closed" },
  });
  if (closed.error) throw new Error(closed.error.error);

  // Units go on duty; one panics; the other goes off duty.
  const units = await northca.PUT("/mdts/{mdtId}/units/active", {
    params: { path: { mdtId: MDT } },
    body: { units: [{ id: "ADAM-12", status: "10-8" }, { id: "LINCOLN-3", status: "10-8" }] },
  });
  if (units.error) throw new Error(units.error.error);
  const unitIds: string[] = units.data.data.map((unit) => unit.id);
  const panic = await northca.POST("/mdts/{mdtId}/units/active/{unitId}/panic", {
    params: { path: { mdtId: MDT, unitId: "ADAM-12" } },
    body: { address: "67 Mango Place" },
  });
  if (panic.error) throw new Error(panic.error.error);
  const panicAt: Date = new Date(panic.data.data.ts);
  const gone = await northca.DELETE("/mdts/{mdtId}/units/active/{unitId}", {
    params: { path: { mdtId: MDT, unitId: "LINCOLN-3" } },
  });
  if (gone.error) throw new Error(gone.error.error);

  // A shift, listed back.
  const shift = await northca.POST("/mdts/{mdtId}/shifts", {
    params: { path: { mdtId: MDT } },
    body: { officer_name: "B. Bubbleton", officer_badge: "512", department: "Patrol" },
  });
  if (shift.error) throw new Error(shift.error.error);
  const shifts = await northca.GET("/mdts/{mdtId}/shifts", {
    params: { path: { mdtId: MDT }, query: { limit: 10 } },
  });
  if (shifts.error) throw new Error(shifts.error.error);
  const started: Date = new Date(shifts.data.data[0]?.start_time ?? 0);

  // Documented errors come back typed as ErrorEnvelope, with their status.
  const duplicate = await northca.PUT("/mdts/{mdtId}/units/active", {
    params: { path: { mdtId: MDT } },
    body: { units: [{ id: "A" }, { id: "A" }] },
  });
  const tooLarge = await northca.POST("/mdts/{mdtId}/tickets", {
    params: { path: { mdtId: MDT } },
    body: { title: "x".repeat(1 << 20) },
  });

  return {
    request: { id: request.id, status: request.status, expires: expires.toISOString() },
    approved: approved.data.data.status,
    departments,
    call: { id: call.data.data.id, status: closed.data.data.status },
    unitIds,
    panic: { unit: panic.data.data.unit_id, at: panicAt.toISOString() },
    deleted: gone.data.data.deleted,
    shifts: shifts.data.data.map((s) => s.id),
    shift: shift.data.data.id,
    started: started.toISOString(),
    duplicate: { status: duplicate.response.status, error: duplicate.error?.error ?? null },
    tooLarge: { status: tooLarge.response.status, error: tooLarge.error?.error ?? null },
  };
}

console.log(JSON.stringify(await main()));
