// The mock's control plane, for tests: one namespace per test process, reset and journal.
import { northcaClient, type NorthcaClient } from "../src/northca.js";

/** The mock's root URL: set by scripts/with-mock.mjs, or by you for a container. */
export const mockUrl = (process.env.NORTHCA_MOCK_URL ?? "http://127.0.0.1:4010").replace(/\/$/, "");

/** The default world's ids (mockserver/worlds/default.yaml). */
export const world = {
  partnerKey: "test-key",
  guildId: "123456789012345678",
  mdtId: "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2",
  ownerId: "222222222222222222",
} as const;

/** node:test runs each test file in a process of its own: each gets its own namespace. */
export const namespace = `ts-${process.pid}`;

export interface JournalEntry {
  method: string;
  path: string;
  status: number;
  operation_id: string | null;
  body: unknown;
  headers: Record<string, string>;
}

async function control(method: "GET" | "POST", path: string): Promise<unknown> {
  const answer = await fetch(`${mockUrl}/__mock/${path}`, {
    method,
    headers: { "x-mock-namespace": namespace },
  });
  const envelope = (await answer.json()) as { ok: boolean; data?: unknown; error?: string };
  if (!envelope.ok) throw new Error(`/__mock/${path}: ${answer.status} ${envelope.error ?? ""}`);
  return envelope.data;
}

/** Back to the world: records, links, clock, faults and journal of this namespace. */
export async function reset(): Promise<void> {
  await control("POST", "reset");
}

/** What the bot sent, oldest first (`GET /__mock/requests`). */
export async function journal(): Promise<JournalEntry[]> {
  return (await control("GET", "requests")) as JournalEntry[];
}

/** A client as the bot builds it, pointed at the mock, in this file's namespace. */
export function client(overrides: { partnerKey?: string } = {}): NorthcaClient {
  return northcaClient({
    baseUrl: `${mockUrl}/v1`,
    partnerKey: overrides.partnerKey ?? world.partnerKey,
    guildId: world.guildId,
    actorId: world.ownerId,
    headers: { "x-mock-namespace": namespace },
  });
}
