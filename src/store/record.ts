/*
 * One small record per flash sector, checked on read:
 *
 *   "DWR1" | u32 payload length | u32 CRC-32 of payload | payload     (big-endian)
 *
 * A sector that is erased, torn by a power cut, or holds anything else reads
 * as absent, never as a wrong value. Rewriting erases first, so a cut during
 * a rewrite loses the old value: records hold write-once data (configuration,
 * identity), not counters (see counter.ts).
 */
import type { FlashRegion } from "./flash-region";
import { crc32 } from "util/bytes";

const magic = 0x44575231; // "DWR1"
const headerSize = 12;

export function maxRecordPayload(flash: FlashRegion): number {
	return flash.blockSize - headerSize;
}

export function readRecord(flash: FlashRegion, sector: number): Uint8Array | undefined {
	const base = sector * flash.blockSize;
	const header = new DataView(flash.read(base, headerSize));
	if (header.getUint32(0) !== magic)
		return undefined;
	const length = header.getUint32(4);
	if (length > maxRecordPayload(flash))
		return undefined;
	const payload = new Uint8Array(flash.read(base + headerSize, length));
	if (crc32(payload) !== header.getUint32(8))
		return undefined;
	return payload;
}

export function writeRecord(flash: FlashRegion, sector: number, payload: Uint8Array): void {
	if (payload.length > maxRecordPayload(flash))
		throw new RangeError(`record: ${payload.length} bytes do not fit in one ${flash.blockSize}-byte sector`);
	const record = new Uint8Array(headerSize + payload.length);
	const header = new DataView(record.buffer);
	header.setUint32(0, magic);
	header.setUint32(4, payload.length);
	header.setUint32(8, crc32(payload));
	record.set(payload, headerSize);
	flash.erase(sector);
	// Payload first, header last: the record is valid only once it is whole.
	flash.write(sector * flash.blockSize + headerSize, payload.length, payload);
	flash.write(sector * flash.blockSize, headerSize, record.subarray(0, headerSize));
}
