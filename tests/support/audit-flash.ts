/*
 * The audit log as it stands on a simulated device's flash file, read with a
 * reader written from docs/protocol/audit.md § On flash (for the power-cut tests).
 */
import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { simulatorBuild } from "../../tools/build/firmware.js";

const build = simulatorBuild();

function partitionOffset(name: string): number {
	const line = readFileSync(build.partitions, "utf8").split("\n").find((row) => row.split(",")[0].trim() === name);
	assert.ok(line, `no partition ${name} in ${build.partitions}`);
	return Number(line.split(",")[3].trim());
}

/** The entries of the log on flash, oldest first: sectors 13 to 15 of the doorward partition, by their order. */
export function logOnFlash(path: string): Buffer[] {
	const base = partitionOffset("doorward") + 13 * 4096;
	const bytes = Buffer.alloc(3 * 4096);
	const fd = openSync(path, "r");
	readSync(fd, bytes, 0, bytes.length, base);
	closeSync(fd);
	const sectors: { order: number; entries: Buffer[] }[] = [];
	for (let index = 0; index < 3; index++) {
		const sector = bytes.subarray(index * 4096, (index + 1) * 4096);
		if (sector.subarray(0, 4).toString("latin1") !== "DWL1")
			continue;
		const entries: Buffer[] = [];
		for (let offset = 16; offset + 4 <= 4096;) {
			const length = sector.readUInt16BE(offset + 2);
			if ((sector.readUInt16BE(offset) !== 0xA55A) || (offset + 4 + length > 4096) || (sector.subarray(offset + 4, offset + 8).toString("latin1") !== "DWA1"))
				break;
			entries.push(Buffer.from(sector.subarray(offset + 4, offset + 4 + length)));
			offset += 4 + length;
		}
		sectors.push({ order: sector.readUInt32BE(4), entries });
	}
	return sectors.sort((a, b) => a.order - b.order).flatMap((sector) => sector.entries);
}

