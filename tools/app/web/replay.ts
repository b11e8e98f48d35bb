/*
 * The per-device anti-replay window (docs/protocol/events.md § Sequence
 * numbers and replay): IPsec's (RFC 4303 §3.4.3), W = 64. T is the highest
 * sequence number opened; bit i of the window is T - i. The app keeps it in
 * IndexedDB, written before an event is shown.
 */
export const WINDOW = 64;

export interface ReplayState {
	highest: number;
	/** WINDOW bits as hex, most significant first. */
	window: string;
}

export function emptyReplayState(): ReplayState {
	return { highest: 0, window: "0".repeat(WINDOW / 4) };
}

const bits = (state: ReplayState) => BigInt(`0x${state.window}`);
const mask = (1n << BigInt(WINDOW)) - 1n;

/** Why `seq` is refused as a replay, or undefined when it is new (or late). Changes nothing. */
export function replayProblem(state: ReplayState, seq: number): string | undefined {
	if (seq > state.highest)
		return undefined;
	const age = state.highest - seq;
	if (age >= WINDOW)
		return `replay: event ${seq} is older than the last ${WINDOW} this phone remembers (it has opened ${state.highest})`;
	if ((bits(state) >> BigInt(age)) & 1n)
		return `replay: event ${seq} was opened already`;
	return undefined;
}

export interface SeenNotes {
	gaps: [number, number][];
	late: boolean;
}

/** The state after `seq` is opened (replayProblem must have passed), and what the owner should hear. */
export function markSeen(before: ReplayState, seq: number): { state: ReplayState; notes: SeenNotes } {
	let window = bits(before);
	let highest = before.highest;
	const notes: SeenNotes = { gaps: [], late: false };
	if (seq > highest) {
		// Before the first event there is no baseline: numbers below it were not sealed for this phone.
		if ((highest > 0) && (seq > highest + 1))
			notes.gaps.push([highest + 1, seq - 1]);
		const shift = seq - highest;
		window = (shift >= WINDOW) ? 1n : (((window << BigInt(shift)) | 1n) & mask);
		highest = seq;
	}
	else {
		window |= 1n << BigInt(highest - seq);
		notes.late = true;
	}
	return { state: { highest, window: window.toString(16).padStart(WINDOW / 4, "0") }, notes };
}
