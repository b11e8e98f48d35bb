/*
 * The phone's side of the audit log (docs/protocol/audit.md), written from
 * the specification and never from src/: parses entries, checks each
 * device signature, and checks the chain of what arrived, reporting a gap,
 * a reordering or a fork. A forged entry (bad signature, or another device's)
 * is refused and takes no part in the chain.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { EnvelopeError, openEvent, parseHeader, verifySignature } from "./open.js";
import { loadPhone, phoneKeys, PhoneFileError } from "./identity.js";

export const ENTRY_TYPES = Object.freeze(["admitted", "removed", "role", "window", "attempts", "reset", "wifi", "provisioned", "updateRoot", "dropped", "liveStart", "liveEnd"] as const);
const HEADER = 68;
const SIGNATURE = 64;
const MAX_DETAILS = 1024;

export interface PhoneAuditEntry {
	seq: number;
	time: number;
	clockSet: boolean;
	type: string;
	prev: string;
	deviceId: string;
	details: Record<string, unknown>;
	hash: string;
}

export interface AuditProblem {
	kind: "forged" | "malformed" | "gap" | "reordered" | "fork";
	seq?: number;
	message: string;
}

export interface AuditReport {
	ok: boolean;
	/** The entries that verified, by sequence number, one per number. */
	entries: PhoneAuditEntry[];
	problems: AuditProblem[];
}

export class AuditFormatError extends Error {
	/** True when the entry is well formed but not the device's: a bad signature, or another device's entry. */
	readonly forged: boolean;
	constructor(message: string, forged = false) {
		super(message);
		this.forged = forged;
	}
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest();

/** Parses one entry (byte layout in docs/protocol/audit.md) and checks its signature; throws AuditFormatError naming what is wrong. */
export function openAuditEntry(bytes: Uint8Array, deviceSigningKey: Uint8Array, deviceId?: string): PhoneAuditEntry {
	const data = Buffer.from(bytes);
	if (data.length < HEADER + SIGNATURE)
		throw new AuditFormatError(`an entry of ${data.length} bytes is too short`);
	if (data.subarray(0, 4).toString("latin1") !== "DWA1")
		throw new AuditFormatError("an entry without the DWA1 magic");
	const length = data.readUInt16BE(18);
	if ((length > MAX_DETAILS) || (data.length !== HEADER + length + SIGNATURE))
		throw new AuditFormatError(`an entry of ${data.length} bytes with ${length} bytes of details`);
	const type = ENTRY_TYPES[data[17] - 1];
	if (!type)
		throw new AuditFormatError(`an entry of unknown type ${data[17]}`);
	if (data[16] > 1)
		throw new AuditFormatError(`an entry with clock flag ${data[16]}`);
	const body = data.subarray(0, HEADER + length);
	const message = Buffer.concat([Buffer.from("doorward/audit/v1\u0000", "latin1"), body]);
	if (!verifySignature(data.subarray(HEADER + length), message, deviceSigningKey))
		throw new AuditFormatError(`entry ${data.readUInt32BE(4)}: the device's signature does not verify (forged)`, true);
	const id = data.subarray(52, 68).toString("hex");
	if ((deviceId !== undefined) && (id !== deviceId))
		throw new AuditFormatError(`entry ${data.readUInt32BE(4)}: made for device ${id}, not ${deviceId}`, true);
	let details: unknown;
	try {
		details = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(HEADER, HEADER + length)));
	}
	catch {
		throw new AuditFormatError(`entry ${data.readUInt32BE(4)}: details that are not UTF-8 JSON`);
	}
	if ((typeof details !== "object") || (details === null) || Array.isArray(details))
		throw new AuditFormatError(`entry ${data.readUInt32BE(4)}: details that are not a JSON object`);
	return {
		seq: data.readUInt32BE(4),
		time: data.readUInt32BE(8) * 2 ** 32 + data.readUInt32BE(12),
		clockSet: data[16] === 1,
		type,
		prev: data.subarray(20, 52).toString("hex"),
		deviceId: id,
		details: details as Record<string, unknown>,
		hash: sha256(data).toString("hex"),
	};
}

const ZERO = "00".repeat(32);

/**
 * Checks entries in the order they arrived. The first entry received is
 * where the phone's view starts (a phone admitted later never sees the
 * entries before its own admission); from it on:
 * - each entry's prev must be the hash of the entry before it (else a fork),
 *   and seq 1 must follow nothing (prev all zeros);
 * - two different entries with one sequence number are a fork;
 * - a missing sequence number is a gap;
 * - an entry that arrives after a later one is a reordering.
 */
export function verifyAuditChain(arrived: readonly Uint8Array[], deviceSigningKey: Uint8Array, deviceId?: string): AuditReport {
	const problems: AuditProblem[] = [];
	const bySeq = new Map<number, PhoneAuditEntry>();
	let highest = 0;
	for (const bytes of arrived) {
		let entry: PhoneAuditEntry;
		try {
			entry = openAuditEntry(bytes, deviceSigningKey, deviceId);
		}
		catch (error) {
			if (!(error instanceof AuditFormatError))
				throw error;
			const forged = error.forged;
			problems.push({ kind: forged ? "forged" : "malformed", message: `refused: ${error.message}` });
			continue;
		}
		const known = bySeq.get(entry.seq);
		if (known) {
			if (known.hash === entry.hash)
				continue; // the same entry again (a re-queued event): nothing new
			problems.push({ kind: "fork", seq: entry.seq, message: `fork: two different entries ${entry.seq} (${known.hash.slice(0, 16)}... and ${entry.hash.slice(0, 16)}...)` });
			continue;
		}
		if (entry.seq < highest)
			problems.push({ kind: "reordered", seq: entry.seq, message: `reordered: entry ${entry.seq} arrived after entry ${highest}` });
		highest = Math.max(highest, entry.seq);
		bySeq.set(entry.seq, entry);
	}
	const entries = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
	if (entries.length && (entries[0].seq === 1) && (entries[0].prev !== ZERO))
		problems.push({ kind: "fork", seq: 1, message: "fork: entry 1 follows another entry" });
	for (let i = 1; i < entries.length; i++) {
		const before = entries[i - 1];
		const entry = entries[i];
		if (entry.seq !== before.seq + 1) {
			const from = before.seq + 1;
			const through = entry.seq - 1;
			problems.push({ kind: "gap", seq: from, message: `gap: ${from === through ? `entry ${from} is` : `entries ${from} to ${through} are`} missing` });
		}
		else if (entry.prev !== before.hash)
			problems.push({ kind: "fork", seq: entry.seq, message: `fork: entry ${entry.seq} does not follow entry ${before.seq} (its prev is not that entry's hash)` });
	}
	return { ok: !problems.length, entries, problems };
}

/** One line per entry, for `doorward audit`. */
export function describeAuditEntry(entry: PhoneAuditEntry): string {
	const when = entry.clockSet ? new Date(entry.time).toISOString() : `clock not set, ${entry.time} ms`;
	const details = Object.entries(entry.details).map(([name, value]) => `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`).join(" ");
	return `${String(entry.seq).padStart(6)}  ${when}  ${entry.type}${details ? `  ${details}` : ""}`;
}

/** Every event.dwe in these folders (a folder of one event, or a folder of event folders), or these files. */
function eventFiles(paths: readonly string[]): string[] {
	const files: string[] = [];
	for (const path of paths) {
		let stat;
		try {
			stat = statSync(path);
		}
		catch (error) {
			throw new PhoneFileError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code})`);
		}
		if (stat.isFile())
			files.push(path);
		else if (existsSync(join(path, "event.dwe")))
			files.push(join(path, "event.dwe"));
		else {
			for (const name of readdirSync(path).sort()) {
				if (existsSync(join(path, name, "event.dwe")))
					files.push(join(path, name, "event.dwe"));
			}
		}
	}
	return files;
}

/**
 * `doorward audit --phone FILE [--json] EVENT_DIR...`: opens every event in
 * the folders with the phone's key (verifying each device signature), takes
 * the audit events, orders each device's by the device's event sequence
 * number, verifies the chain and prints it. Exit 0 when every chain holds, 1
 * when any problem was found (each printed), or when there is no audit event.
 * Opening here does not count as receiving: the phone file is not changed.
 */
export async function auditCommand(phoneFile: string, paths: readonly string[], json: boolean, print: (line: string) => void): Promise<number> {
	const phone = loadPhone(phoneFile);
	const keys = phoneKeys(phone);
	const byDevice = new Map<string, { seq: number; entry: Uint8Array }[]>();
	const refused: string[] = [];
	for (const file of eventFiles(paths)) {
		const envelope = readFileSync(file);
		let deviceId: string;
		try {
			deviceId = parseHeader(envelope).header.deviceId;
		}
		catch (error) {
			refused.push(`${file}: ${(error as Error).message}`);
			continue;
		}
		const device = phone.devices[deviceId];
		if (!device) {
			refused.push(`${file}: from device ${deviceId}, which this phone is not paired with`);
			continue;
		}
		let opened;
		try {
			opened = await openEvent(envelope, keys, Buffer.from(device.signingPublicKey, "hex"));
		}
		catch (error) {
			if (!(error instanceof EnvelopeError))
				throw error;
			refused.push(`${file}: ${error.message}`);
			continue;
		}
		if (opened.metadata.kind !== "audit")
			continue;
		const entry = Buffer.from(String((opened.metadata.details as Record<string, unknown>).entry), "hex");
		byDevice.set(deviceId, [...(byDevice.get(deviceId) ?? []), { seq: opened.header.seq, entry }]);
	}
	if (!byDevice.size)
		throw new PhoneFileError(`no audit event among ${paths.join(", ")}${refused.length ? ` (${refused.length} refused: ${refused[0]})` : ""}`);
	const reports = [...byDevice].map(([deviceId, events]) => {
		events.sort((a, b) => a.seq - b.seq);
		return { deviceId, ...verifyAuditChain(events.map((event) => event.entry), Buffer.from(phone.devices[deviceId].signingPublicKey, "hex"), deviceId) };
	});
	const ok = reports.every((report) => report.ok) && !refused.length;
	if (json)
		print(JSON.stringify({ ok, devices: reports, refused }));
	else {
		for (const report of reports) {
			print(`device ${report.deviceId}: ${report.entries.length} entries, ${report.ok ? "the chain holds" : `${report.problems.length} problems`}`);
			for (const entry of report.entries)
				print(describeAuditEntry(entry));
			for (const problem of report.problems)
				print(`problem: ${problem.message}`);
		}
		for (const line of refused)
			print(`refused: ${line}`);
	}
	return ok ? 0 : 1;
}
