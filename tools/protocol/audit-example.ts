/*
 * Produces the worked example of docs/protocol/audit.md: fixed inputs, two
 * entries made and stored by the firmware's audit log (src/audit, run on
 * Node with the Ed25519 and SHA-256 of node:crypto in place of
 * hardware/crypto: the same bytes, as Ed25519 signatures are deterministic),
 * checked again by the phone's independent verifier, and every value printed.
 *
 *   node build/node/tools/protocol/audit-example.js           prints the section
 *   node build/node/tools/protocol/audit-example.js --write   rewrites it in the doc
 */
import { createHash, createPrivateKey, createPublicKey, sign } from "node:crypto";
import { join } from "node:path";
import { AuditLog } from "audit/log";
import { makeEntry } from "audit/entry";
import { AuditSectors } from "store/layout";
import type { FlashRegion } from "store/flash-region";
import { describeAuditEntry, verifyAuditChain } from "../phone/audit.js";
import { verifySignature } from "../phone/open.js";
import { projectRoot } from "../build/firmware.js";
import { publishWorkedExample, readWorkedExample } from "./worked-example.js";

export const auditInputs = Object.freeze({
	// RFC 8032 §7.1 test 1 secret key: a public test key, on purpose.
	deviceSeed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	deviceId: "00112233445566778899aabbccddeeff",
	// RFC 7748 §6.1 Alice's X25519 public key, as the phone's.
	phoneKey: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	time: 1795800000000,
});

/** Flash in memory, as the firmware's stores see it: 4 KiB sectors, writes that clear bits. */
class MemoryFlash implements FlashRegion {
	readonly blockSize = 4096;
	readonly bytes: Uint8Array;
	constructor(sectors: number) {
		this.bytes = new Uint8Array(sectors * this.blockSize).fill(0xFF);
	}
	get byteLength(): number {
		return this.bytes.length;
	}
	read(offset: number, byteLength: number): ArrayBuffer {
		return this.bytes.slice(offset, offset + byteLength).buffer;
	}
	write(offset: number, byteLength: number, buffer: ArrayBuffer | Uint8Array): void {
		const data = (buffer instanceof Uint8Array) ? buffer : new Uint8Array(buffer);
		for (let i = 0; i < byteLength; i++)
			this.bytes[offset + i] &= data[i];
	}
	erase(sector: number): void {
		this.bytes.fill(0xFF, sector * this.blockSize, (sector + 1) * this.blockSize);
	}
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const wrap = (text: string, width = 64) => text.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");

export function renderAuditExample(): string {
	const inputs = { ...auditInputs, phone: createHash("sha256").update(Buffer.from(auditInputs.phoneKey, "hex")).digest().subarray(0, 8).toString("hex") };
	const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(inputs.deviceSeed, "hex")]), format: "der", type: "pkcs8" });
	const publicKey = new Uint8Array(createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(12));
	const crypto = {
		sha256: (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest()),
		sign: (message: Uint8Array) => new Uint8Array(sign(null, message, privateKey)),
	};
	const flash = new MemoryFlash(16);
	let time: number = inputs.time;
	let clockSet = true;
	const log = new AuditLog({
		flash, firstSector: AuditSectors.first, sectorCount: AuditSectors.count, deviceId: inputs.deviceId, crypto,
		verify: (message, signature) => verifySignature(signature, message, publicKey),
		clock: () => ({ time, set: clockSet }),
	});
	const first = log.append("admitted", { phone: inputs.phone, name: "owner", key: inputs.phoneKey });
	time = 61234;
	clockSet = false;
	const second = log.append("removed", { phone: inputs.phone, name: "owner" });
	// The log's bytes are the entry module's: made again without the log, they are the same.
	const again = makeEntry(crypto, { seq: 1, time: inputs.time, clockSet: true, type: "admitted", deviceId: inputs.deviceId, details: { phone: inputs.phone, name: "owner", key: inputs.phoneKey } }, undefined);
	if (hex(again.bytes) !== hex(first.bytes))
		throw new Error("the log and the entry module disagree on entry 1");
	const report = verifyAuditChain([first.bytes, second.bytes], publicKey, inputs.deviceId);
	if (!report.ok)
		throw new Error(`the independent phone verifier refused the example: ${report.problems.map((problem) => problem.message).join("; ")}`);
	const e = first.bytes;
	const length = e.length - 64 - 68;
	const label = Buffer.from("doorward/audit/v1\u0000", "latin1");
	const sector = flash.bytes.subarray(AuditSectors.first * 4096, (AuditSectors.first + 1) * 4096);
	const used = 16 + 4 + first.bytes.length + 4 + second.bytes.length;
	const lines = [
		"Inputs:",
		"",
		"| value | |",
		"| --- | --- |",
		`| device Ed25519 seed (RFC 8032 §7.1 test 1) | \`${inputs.deviceSeed}\` |`,
		`| device Ed25519 public key | \`${hex(publicKey)}\` |`,
		`| device id | \`${inputs.deviceId}\` |`,
		`| entry 1 | admitted, time ${inputs.time} with the clock set, details \`${Buffer.from(e.subarray(68, 68 + length)).toString("utf8")}\` |`,
		`| entry 2 | removed, time 61234 with the clock not set (the device's clock read 61234 ms: not a date) |`,
		"",
		`Entry 1 is ${e.length} bytes: a body of ${68 + length} (D = ${length}), then the signature.`,
		"",
		"| bytes | field | value |",
		"| --- | --- | --- |",
		`| 0-3 | magic | \`${hex(e.subarray(0, 4))}\` |`,
		`| 4-7 | seq | \`${hex(e.subarray(4, 8))}\` |`,
		`| 8-15 | time | \`${hex(e.subarray(8, 16))}\` |`,
		`| 16 | clock | \`${hex(e.subarray(16, 17))}\` |`,
		`| 17 | type | \`${hex(e.subarray(17, 18))}\` (admitted) |`,
		`| 18-19 | D | \`${hex(e.subarray(18, 20))}\` |`,
		`| 20-51 | prev | \`${hex(e.subarray(20, 52))}\` (the first entry) |`,
		`| 52-67 | device id | \`${hex(e.subarray(52, 68))}\` |`,
		`| 68-${67 + length} | details | the JSON above, UTF-8 |`,
		`| ${68 + length}-${e.length - 1} | signature | \`${hex(e.subarray(68 + length))}\` |`,
		"",
		`The signed message is \`${hex(label)}\` ("doorward/audit/v1" and a 0 byte) followed by the body: ${label.length + 68 + length} bytes.`,
		`SHA-256 of entry 1, which entry 2 carries as prev: \`${hex(first.hash)}\`.`,
		"",
		"Entry 1, hex:",
		"",
		"```",
		wrap(hex(first.bytes)),
		"```",
		"",
		`Entry 2 (${second.bytes.length} bytes; SHA-256 \`${hex(second.hash)}\`), hex:`,
		"",
		"```",
		wrap(hex(second.bytes)),
		"```",
		"",
		`On flash (the first sector of the log, sector ${AuditSectors.first} of the doorward partition): the sector header \`${hex(sector.subarray(0, 16))}\`, the slot header of entry 1 \`${hex(sector.subarray(16, 20))}\` at offset 16, entry 1, the slot header of entry 2 \`${hex(sector.subarray(20 + first.bytes.length, 24 + first.bytes.length))}\` at offset ${20 + first.bytes.length}, entry 2; the next slot would be at offset ${used}, and bytes ${used} to 4095 are erased (0xff).`,
		"",
		"What the phone's verifier prints for the two (`doorward audit`):",
		"",
		"```",
		...report.entries.map(describeAuditEntry),
		"```",
	];
	return lines.join("\n");
}

export const auditSpecification = join(projectRoot, "docs", "protocol", "audit.md");

export function documentedAuditExample(): string {
	return readWorkedExample(auditSpecification);
}

if (process.argv[1]?.endsWith("audit-example.js"))
	publishWorkedExample(auditSpecification, renderAuditExample());
