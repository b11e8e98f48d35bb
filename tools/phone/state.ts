/*
 * What a phone remembers of each paired device between events, and the one
 * path by which an event is accepted (docs/protocol/events.md § Sequence
 * numbers and replay, § Phone processing): the anti-replay window of IPsec
 * (RFC 4303 §3.4.3): the highest sequence number opened, T, and a bitmap of
 * the W numbers T-W+1 .. T. A number above T is new (and the ones it skips
 * are reported as gaps); one inside the window is new only if its bit is
 * clear (a late event); one below it cannot be told from a replay.
 *
 * The state changes only after every check has passed, and it is written to
 * the phone file (atomically) before the caller shows or stores anything.
 */
// Types only: identity.ts imports this module's state functions.
import type { PairedDevice, PhoneIdentity } from "./identity.js";
import { EnvelopeError, clockNote, openEvent, parseHeader } from "./open.js";
import type { OpenedEvent } from "./open.js";

/** The window: the specification's minimum, as in RFC 4303's default. */
export const WINDOW = 64;

export interface ReplayState {
	/** The highest sequence number opened; 0 before the first. */
	highest: number;
	/** WINDOW bits, hex, most significant first: bit i set = sequence number highest - i was opened. */
	window: string;
}

export function emptyReplayState(): ReplayState {
	return { highest: 0, window: "0".repeat(WINDOW / 4) };
}

const bits = (state: ReplayState) => BigInt(`0x${state.window}`);
const mask = (1n << BigInt(WINDOW)) - 1n;

/** A well-formed state, or undefined. */
export function validReplayState(value: unknown): ReplayState | undefined {
	const state = value as ReplayState | undefined;
	if (!state || !Number.isSafeInteger(state.highest) || (state.highest < 0) || (typeof state.window !== "string") || !new RegExp(`^[0-9a-f]{${WINDOW / 4}}$`).test(state.window))
		return undefined;
	if ((state.highest === 0) !== (bits(state) === 0n))
		return undefined;
	return { highest: state.highest, window: state.window };
}

export class ReplayError extends EnvelopeError {}

/** Throws ReplayError if `seq` was opened already, or is too old to tell. Changes nothing. */
export function checkReplay(state: ReplayState, seq: number, deviceId: string): void {
	const { highest } = state;
	if (seq > highest)
		return;
	const age = highest - seq;
	if (age >= WINDOW)
		throw new ReplayError(`replay: event ${seq} of device ${deviceId} is older than the last ${WINDOW} this phone remembers (it has opened ${highest}); refused`);
	if ((bits(state) >> BigInt(age)) & 1n)
		throw new ReplayError(`replay: event ${seq} of device ${deviceId} was opened already; refused`);
}

export interface SeenNotes {
	/** Sequence numbers skipped by this event, as inclusive ranges: events that never arrived. */
	gaps: [number, number][];
	/** This event is older than one opened before it (it was late, not replayed). */
	late: boolean;
}

/** Records `seq` as opened (checkReplay must have passed). Returns what the owner should hear. */
export function markSeen(state: ReplayState, seq: number): SeenNotes {
	const { highest } = state;
	let window = bits(state);
	const notes: SeenNotes = { gaps: [], late: false };
	if (seq > highest) {
		// Before the first event there is no baseline: numbers below it were not sealed for this phone.
		if ((highest > 0) && (seq > highest + 1))
			notes.gaps.push([highest + 1, seq - 1]);
		const shift = seq - highest;
		window = (shift >= WINDOW) ? 1n : (((window << BigInt(shift)) | 1n) & mask);
		state.highest = seq;
	}
	else {
		window |= 1n << BigInt(highest - seq);
		notes.late = true;
	}
	state.window = window.toString(16).padStart(WINDOW / 4, "0");
	return notes;
}

export interface AcceptedEvent {
	opened: OpenedEvent;
	device: PairedDevice;
	/** For the owner, one line each: gaps, a late event, a doubtful clock. */
	notes: string[];
}

export interface AcceptOptions {
	/** The MQTT topic the envelope arrived on, when it came over MQTT. */
	topic?: string;
	/** Makes the updated state durable; called before the event is returned. */
	save: () => void;
	now?: number;
}

/**
 * docs/protocol/events.md § Phone processing: limits, the paired device, the
 * topic, the sequence number, signature, digest, unwrapping, decryption and
 * the clip's rules; then the state, saved; only then the event.
 */
export async function acceptEvent(phone: PhoneIdentity, envelope: Uint8Array, options: AcceptOptions): Promise<AcceptedEvent> {
	const { header } = parseHeader(envelope);
	const device = phone.devices[header.deviceId];
	if (!device)
		throw new EnvelopeError(`from device ${header.deviceId}, which this phone has not paired with`);
	if ((options.topic !== undefined) && !device.topicId)
		throw new EnvelopeError(`this phone does not know which topic device ${header.deviceId} publishes on: pair it again`);
	if ((options.topic !== undefined) && (options.topic !== `dw/${device.topicId}/ev`))
		throw new EnvelopeError(`device ${header.deviceId} publishes on dw/${device.topicId}/ev, but this event came on ${options.topic}; refused`);
	checkReplay(device.replay, header.seq, header.deviceId);
	const keys = { secretKey: Buffer.from(phone.x25519SecretKey, "hex"), publicKey: Buffer.from(phone.x25519PublicKey, "hex") };
	const opened = await openEvent(envelope, keys, Buffer.from(device.signingPublicKey, "hex"));
	const before = { ...device.replay };
	const seen = markSeen(device.replay, header.seq);
	try {
		options.save();
	}
	catch (error) {
		// Not durable, so not seen: the event is not shown, and memory agrees with the file.
		device.replay = before;
		throw error;
	}
	const notes = seen.gaps.map(([from, to]) => (from === to)
		? `event ${from} of device ${header.deviceId} never arrived`
		: `events ${from} to ${to} of device ${header.deviceId} never arrived`);
	if (seen.late)
		notes.push(`event ${header.seq} of device ${header.deviceId} arrived late, after ${device.replay.highest}`);
	const clock = clockNote(header.time, options.now ?? Date.now());
	if (clock)
		notes.push(`event ${header.seq} of device ${header.deviceId}: ${clock}`);
	return { opened, device, notes };
}
