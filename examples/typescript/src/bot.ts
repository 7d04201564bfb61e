// The commands of a small dispatch bot. Each returns the text the bot would post in Discord;
// a Northca error is shown as the API's own documented string.
import type { NorthcaClient } from "./northca.js";

export interface Officer {
  name: string;
  badge: string;
  department: string;
  callsign: string;
}

export interface NewCall {
  classification: string;
  location: string;
  priority: "low" | "medium" | "high";
  units: string[];
}

function failed(error: { error: string }): string {
  return `Northca: ${error.error}`;
}

/** `/duty on`: start the officer's shift and put their unit in service (10-8). */
export async function goOnDuty(api: NorthcaClient, mdtId: string, officer: Officer): Promise<string> {
  const shift = await api.POST("/mdts/{mdtId}/shifts", {
    params: { path: { mdtId } },
    body: {
      officer_name: officer.name,
      officer_badge: officer.badge,
      department: officer.department,
      status: "active",
    },
  });
  if (shift.error) return failed(shift.error);
  const units = await api.PUT("/mdts/{mdtId}/units/active", {
    params: { path: { mdtId } },
    body: {
      units: [
        {
          id: officer.callsign,
          status: "10-8",
          officer_name: officer.name,
          officer_badge: officer.badge,
          department: officer.department,
        },
      ],
    },
  });
  if (units.error) return failed(units.error);
  return `${officer.name} (${officer.badge}) on duty as ${officer.callsign}, shift ${shift.data.data.id}`;
}

/** `/dispatch`: open a call and return its id. */
export async function dispatch(api: NorthcaClient, mdtId: string, call: NewCall): Promise<string> {
  const created = await api.POST("/mdts/{mdtId}/calls", {
    params: { path: { mdtId } },
    body: {
      classification: call.classification,
      location: call.location,
      priority: call.priority,
      status: "open",
      units_assigned: call.units,
    },
  });
  if (created.error) return failed(created.error);
  return `Call ${created.data.data.id} opened: ${call.classification} at ${call.location}`;
}

/** `/close`: close a call by id. */
export async function closeCall(api: NorthcaClient, mdtId: string, callId: string): Promise<string> {
  const closed = await api.PATCH("/mdts/{mdtId}/calls/{callId}", {
    params: { path: { mdtId, callId } },
    body: { status: "closed" },
  });
  if (closed.error) return failed(closed.error);
  return `Call ${closed.data.data.id} closed`;
}

/** `/board`: the open calls and the units in service, one line each. */
export async function board(api: NorthcaClient, mdtId: string): Promise<string[]> {
  const [calls, units] = await Promise.all([
    api.GET("/mdts/{mdtId}/calls", { params: { path: { mdtId } } }),
    api.GET("/mdts/{mdtId}/units/active", { params: { path: { mdtId } } }),
  ]);
  if (calls.error) return [failed(calls.error)];
  if (units.error) return [failed(units.error)];
  const open = calls.data.data.filter((c) => c.status !== "closed");
  return [
    ...open.map((c) => `CALL ${c.id} [${c.priority ?? "?"}] ${c.classification ?? ""} @ ${c.location ?? ""}`),
    ...units.data.data.map((u) => `UNIT ${u.id} ${u.status ?? ""}`),
  ];
}

/** `/panic`: raise a unit's panic (10-33) and say when it was raised. */
export async function panic(api: NorthcaClient, mdtId: string, unitId: string): Promise<string> {
  const raised = await api.POST("/mdts/{mdtId}/units/active/{unitId}/panic", {
    params: { path: { mdtId, unitId } },
  });
  if (raised.error) return failed(raised.error);
  const at = new Date(raised.data.data.ts);
  return `10-33 ${raised.data.data.unit_id} at ${at.toISOString()}`;
}

/** `/link`: ask Northca to link an MDT to this guild; its owner approves in the MDT. */
export async function requestLink(api: NorthcaClient, mdtId: string): Promise<string> {
  const asked = await api.POST("/link-requests", { body: { mdt_id: mdtId } });
  if (asked.error) return failed(asked.error);
  const request = asked.data.data;
  const until = request.expires_at === null ? "no expiry" : new Date(request.expires_at).toISOString();
  return `Link request ${request.id} for ${request.mdt_id} is ${request.status}, until ${until}`;
}

/** `/mdts`: the MDTs linked to this guild. */
export async function linkedMdts(api: NorthcaClient, guildId: string): Promise<string[]> {
  const links = await api.GET("/guilds/{guildId}/mdts", { params: { path: { guildId } } });
  if (links.error) return [failed(links.error)];
  return links.data.data.map((link) => link.mdt_id);
}
