/*
 * Freshness and replay (docs/protocol/requests.md § Freshness and replay).
 *
 * A request is taken only if its time is within [now - pastMs, now +
 * futureMs] of the device's clock, above the floor, and its nonce is not in
 * the cache. The invariant that makes a replay impossible whatever the clock
 * does later: every request ever taken is either in the cache, or has a time
 * at or below the floor. So the cache may drop an entry only after raising
 * the floor to that entry's time (when it is full, or when the entry is too
 * old for the window anyway), and a restart, which loses the cache, starts
 * with the floor at the wall-clock time of power-up, and at the highest time
 * of any durable request, which the device keeps in its keystore.
 *
 * Pure: the clock is passed in.
 */
import { RequestRefusal } from "./format";

/** How old a request may be: the phone's clock may be behind, the broker may have held it. */
export const pastMs = 5 * 60 * 1000;
/** How far ahead of the device's clock a request may be. Small: it bounds what a restart can let through (see the spec). */
export const futureMs = 30 * 1000;
/** Nonces kept; at 64, a phone would have to send more than 64 requests in 5 minutes before the floor rises past its clock. */
export const cacheSize = 64;

interface Seen {
	readonly nonce: string;
	readonly time: number;
}

export class ReplayGuard {
	#floor: number;
	#seen: Seen[] = [];

	constructor(floor: number) {
		this.#floor = floor;
	}

	get floor(): number {
		return this.#floor;
	}

	get size(): number {
		return this.#seen.length;
	}

	/** Raises the floor (never lowers it). */
	raise(floor: number): void {
		if (floor > this.#floor)
			this.#floor = floor;
	}

	/** Throws RequestRefusal with the reason unless `time` and `nonce` may be taken now. Changes nothing. */
	check(time: number, nonce: string, now: number): void {
		if (time < now - pastMs)
			throw new RequestRefusal(`the request is ${Math.round((now - time) / 1000)} s old (at most ${pastMs / 1000} s)`);
		if (time > now + futureMs)
			throw new RequestRefusal(`the request is ${Math.round((time - now) / 1000)} s ahead of the device's clock (at most ${futureMs / 1000} s)`);
		if (time <= this.#floor)
			throw new RequestRefusal("the request is not newer than the device's request floor (made before the device restarted, or replayed)");
		if (this.#seen.some((seen) => seen.nonce === nonce))
			throw new RequestRefusal("the request was taken already (replayed nonce)");
	}

	/** Remembers a request that check() passed. Drops what it must, raising the floor first. */
	remember(time: number, nonce: string, now: number): void {
		for (const seen of this.#seen) {
			if (seen.time < now - pastMs)
				this.raise(seen.time);
		}
		this.#seen = this.#seen.filter((seen) => seen.time > this.#floor);
		while (this.#seen.length >= cacheSize) {
			const oldest = this.#seen.reduce((a, b) => ((b.time < a.time) ? b : a));
			this.raise(oldest.time);
			this.#seen = this.#seen.filter((seen) => seen.time > this.#floor);
		}
		this.#seen.push(Object.freeze({ nonce, time }));
	}
}

Object.freeze(ReplayGuard.prototype);
