/*
 * The app's side of the audit log (docs/protocol/audit.md): parses each
 * entry, checks its device signature (events.md § Signature rules), and
 * checks the chain of what arrived: a gap, a reordering or a fork. A forged
 * entry is refused and takes no part in the chain.
 */
import { encoder, hex, sha256, concat } from "./bytes.js";
import { verifySignature } from "./envelope.js";

const TYPES = ["admitted", "removed", "role", "window", "attempts", "reset", "wifi", "provisioned", "updateRoot", "dropped", "liveStart", "liveEnd"];
const HEADER = 68;
const SIGNATURE = 64;
const ZERO = "00".repeat(32);

export interface AuditEntry {
	seq: number;
	time: number;
	clockSet: boolean;
	type: string;
	prev: string;
	details: Record<string, unknown>;
	hash: string;
}

/** Parses and verifies one entry; throws an Error with one line naming what is wrong. */
export async function openAuditEntry(bytes: Uint8Array, deviceSigningKey: Uint8Array, deviceId: string): Promise<AuditEntry> {
	if (bytes.length < HEADER + SIGNATURE)
		throw new Error(`an entry of ${bytes.length} bytes is too short`);
	if (String.fromCharCode(...bytes.subarray(0, 4)) !== "DWA1")
		throw new Error("an entry without the DWA1 magic");
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const length = view.getUint16(18);
	if ((length > 1024) || (bytes.length !== HEADER + length + SIGNATURE))
		throw new Error(`an entry of ${bytes.length} bytes with ${length} bytes of details`);
	const type = TYPES[bytes[17] - 1];
	if (!type)
		throw new Error(`an entry of unknown type ${bytes[17]}`);
	if (bytes[16] > 1)
		throw new Error(`an entry with clock flag ${bytes[16]}`);
	const seq = view.getUint32(4);
	const body = bytes.subarray(0, HEADER + length);
	if (!verifySignature(bytes.subarray(HEADER + length), concat(encoder.encode("doorward/audit/v1"), Uint8Array.of(0), body), deviceSigningKey))
		throw new Error(`entry ${seq}: the device's signature does not verify (forged)`);
	if (hex(bytes.subarray(52, 68)) !== deviceId)
		throw new Error(`entry ${seq}: made for another device`);
	let details: unknown;
	try {
		details = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(HEADER, HEADER + length)));
	}
	catch {
		throw new Error(`entry ${seq}: details that are not UTF-8 JSON`);
	}
	if ((typeof details !== "object") || (details === null) || Array.isArray(details))
		throw new Error(`entry ${seq}: details that are not a JSON object`);
	return {
		seq, time: view.getUint32(8) * 2 ** 32 + view.getUint32(12), clockSet: bytes[16] === 1, type,
		prev: hex(bytes.subarray(20, 52)), details: details as Record<string, unknown>, hash: hex(await sha256(bytes)),
	};
}

/** The chain's status over the entries that verified, in the order they arrived: "holds", or each problem in a line. */
export function chainProblems(arrived: readonly AuditEntry[]): string[] {
	const problems: string[] = [];
	const bySeq = new Map<number, AuditEntry>();
	let highest = 0;
	for (const entry of arrived) {
		const known = bySeq.get(entry.seq);
		if (known) {
			if (known.hash !== entry.hash)
				problems.push(`fork: two different entries ${entry.seq}`);
			continue;
		}
		if (entry.seq < highest)
			problems.push(`reordered: entry ${entry.seq} arrived after entry ${highest}`);
		highest = Math.max(highest, entry.seq);
		bySeq.set(entry.seq, entry);
	}
	const entries = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
	if (entries.length && (entries[0].seq === 1) && (entries[0].prev !== ZERO))
		problems.push("fork: entry 1 follows another entry");
	for (let i = 1; i < entries.length; i++) {
		const before = entries[i - 1];
		const entry = entries[i];
		if (entry.seq !== before.seq + 1)
			problems.push(`gap: ${entry.seq - 1 === before.seq + 1 ? `entry ${before.seq + 1} is` : `entries ${before.seq + 1} to ${entry.seq - 1} are`} missing`);
		else if (entry.prev !== before.hash)
			problems.push(`fork: entry ${entry.seq} does not follow entry ${before.seq}`);
	}
	return problems;
}
