/*
 * The device's time floor. The wall clock starts near 1970 at power-up and is
 * set by SNTP, which is not authenticated: anyone on the path can answer with
 * any time. So the firmware trusts the clock only at or above a floor that no
 * network message can lower: the build time of the newest firmware this
 * device has run (device/version `buildTime`, which the build writes, and
 * which a signed update carries inside its image). The floor is kept in a
 * record (sector 12 of the "doorward" partition) so that a rollback to an
 * older image does not lower it; it is rewritten only when a newer build
 * boots, once per update.
 *
 * Manifests and roots (docs/protocol/update.md, format 1) carry no signing
 * time, only an expiry, which bounds the time from above, not below: they do
 * not raise the floor.
 *
 * Below the floor the clock is "unsynced": updates are refused ("clock not
 * set"), and sealed events say so in their metadata. At or above it,
 * "synced": set since power-up, to a time the device cannot prove wrong.
 */
import type { FlashRegion } from "store/flash-region";
import { readRecord, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import { buildTime } from "device/version";
import { now } from "hardware/clock";
import { utf8Decode, utf8Encode } from "util/bytes";

export type ClockState = "synced" | "unsynced";

const floorSector = Sectors.timeFloor;

// Until loadTimeFloor() has read the record, the running build's own time.
let floor = buildTime;

function storedFloor(flash: FlashRegion): number | undefined {
	const record = readRecord(flash, floorSector);
	if (!record)
		return undefined;
	const value = Number(utf8Decode(record));
	return (Number.isSafeInteger(value) && (value > 0)) ? value : undefined;
}

/** At boot: the floor is the stored one or this build's time, whichever is later; a later build's time is stored. */
export function loadTimeFloor(flash: FlashRegion): number {
	const stored = storedFloor(flash);
	if ((stored === undefined) || (buildTime > stored))
		writeRecord(flash, floorSector, utf8Encode(String(buildTime)));
	floor = Math.max(buildTime, stored ?? 0);
	return floor;
}

/** Milliseconds since the epoch below which the wall clock is not trusted. */
export function timeFloor(): number {
	return floor;
}

/** Whether the wall clock reads at or after the floor: set since power-up, to a time the device cannot prove wrong. */
export function clockSynced(): boolean {
	return now() >= floor;
}

export function clockState(): ClockState {
	return clockSynced() ? "synced" : "unsynced";
}
