/*
 * Who the device is, made on first boot from the hardware RNG and kept on
 * flash: a random device id (never derived from a serial number or MAC) and
 * a separate random topic id, so that topic names say nothing about the
 * device, its model or its owner. The record is authenticated with the
 * record key (store/record): one that is absent is made anew, one that fails
 * is refused, never replaced. The identity keys are in the keystore
 * (device/keys).
 */
import type { FlashRegion } from "store/flash-region";
import { readRecord, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import { bytes } from "hardware/random";
import { toHex, utf8Decode, utf8Encode } from "util/bytes";

export interface Identity {
	/** 128 random bits, hex. */
	readonly deviceId: string;
	/** 128 random bits, hex; names the device's topics. */
	readonly topicId: string;
}

const identitySector = Sectors.identity;

const isId = (value: unknown) => (typeof value === "string") && /^[0-9a-f]{32}$/.test(value);

export function loadOrCreateIdentity(flash: FlashRegion): { identity: Identity; created: boolean } {
	const stored = readRecord(flash, identitySector);
	if (stored) {
		const json = JSON.parse(utf8Decode(stored));
		if (isId(json.deviceId) && isId(json.topicId))
			return { identity: Object.freeze({ deviceId: json.deviceId, topicId: json.topicId }), created: false };
		throw new Error("identity: the stored record is invalid; refusing to make a new identity over it");
	}
	const identity = Object.freeze({ deviceId: toHex(bytes(16)), topicId: toHex(bytes(16)) });
	writeRecord(flash, identitySector, utf8Encode(JSON.stringify(identity)));
	return { identity, created: true };
}

export function eventTopic(identity: Identity): string {
	return `dw/${identity.topicId}/ev`;
}
