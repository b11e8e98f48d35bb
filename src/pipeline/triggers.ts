/*
 * What starts an event: a press of the doorbell button (a ring) or the PIR
 * sensor (motion). A ring is always taken; motion is rate-limited, so a tree
 * in the wind cannot flood the owner's phone or the outbound queue.
 */
import Button from "hardware/button";
import Motion from "hardware/motion";
import { ticks } from "hardware/clock";
import type { EventKind } from "store/outbox";

export interface TriggerOptions {
	onTrigger: (kind: EventKind) => void;
	/** The button held down for 10 s (hardware/button onHold): the factory reset's gesture. */
	onHold?: () => void;
	/**
	 * A second press within this window is the same ring (a bouncing
	 * contact, an impatient double press). Measured when the press is
	 * handled, which can be up to one frame's face detection late (the
	 * detect stage yields between frames), so it is kept short.
	 */
	ringDebounceMs?: number;
	/** Motion starts within this window of the last motion event are ignored. */
	motionCooldownMs?: number;
}

export default class Triggers {
	#button: Button;
	#motion: Motion;

	constructor(options: TriggerOptions) {
		const ringDebounceMs = options.ringDebounceMs ?? 500;
		const motionCooldownMs = options.motionCooldownMs ?? 10000;
		let lastRing = -Infinity;
		let lastMotion = -Infinity;
		this.#button = new Button({
			onPress: () => {
				const at = ticks();
				if (at - lastRing < ringDebounceMs)
					return;
				lastRing = at;
				options.onTrigger("ring");
			},
			...(options.onHold ? { onHold: options.onHold } : {}),
		});
		this.#motion = new Motion({
			onMotion: () => {
				const at = ticks();
				if (at - lastMotion < motionCooldownMs)
					return;
				lastMotion = at;
				options.onTrigger("motion");
			},
		});
	}

	close(): void {
		this.#button.close();
		this.#motion.close();
	}
}

Object.freeze(Triggers.prototype);
