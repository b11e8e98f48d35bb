/*
 * The doorbell button on a GPIO (active low, internal pull-up), debounced in
 * software: presses closer than `debounceMs` to the previous edge are ignored.
 */
import Digital from "embedded:io/digital";
import config from "mc/config";
import { ticks } from "hardware/clock";

const debounceMs = 50;

export default class Button {
	#input: Digital;

	constructor(options: { onPress: () => void }) {
		const onPress = options.onPress;
		let last = -Infinity;
		this.#input = new Digital({
			pin: config.buttonPin,
			mode: Digital.InputPullUp,
			edge: Digital.Falling,
			onReadable() {
				const now = ticks();
				if (now - last >= debounceMs)
					onPress();
				last = now;
			},
		});
	}

	close(): void {
		this.#input.close();
	}
}

Object.freeze(Button.prototype);
