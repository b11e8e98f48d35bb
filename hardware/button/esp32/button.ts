/*
 * The doorbell button on a GPIO (active low, internal pull-up), debounced in
 * software: edges closer than `debounceMs` to the previous one are ignored.
 * Both edges are watched: a press starts the hold timer (the factory reset's
 * gesture, `onHold` after `holdMs`), a release stops it.
 */
import Digital from "embedded:io/digital";
import Timer from "timer";
import config from "mc/config";
import { ticks } from "hardware/clock";

const debounceMs = 50;
const defaultHoldMs = 10000;

export default class Button {
	#input: Digital;
	#hold: ReturnType<typeof Timer.set> | undefined;

	constructor(options: { onPress: () => void; onHold?: () => void; holdMs?: number }) {
		const { onPress, onHold } = options;
		const holdMs = options.holdMs ?? defaultHoldMs;
		let last = -Infinity;
		let down = false;
		this.#input = new Digital({
			pin: config.buttonPin,
			mode: Digital.InputPullUp,
			edge: Digital.Falling | Digital.Rising,
			onReadable: () => {
				const now = ticks();
				const pressed = this.#input.read() === 0;
				if ((now - last < debounceMs) || (pressed === down))
					return;
				last = now;
				down = pressed;
				this.#clearHold();
				if (!pressed)
					return;
				if (onHold) {
					this.#hold = Timer.set(() => {
						this.#hold = undefined;
						// A release lost among bounces within the debounce: the level decides.
						if (this.#input.read() === 0)
							onHold();
					}, holdMs);
				}
				onPress();
			},
		});
	}

	#clearHold(): void {
		if (this.#hold !== undefined) {
			Timer.clear(this.#hold);
			this.#hold = undefined;
		}
	}

	close(): void {
		this.#clearHold();
		this.#input.close();
	}
}

Object.freeze(Button.prototype);
