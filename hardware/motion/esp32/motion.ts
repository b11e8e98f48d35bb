/*
 * A PIR sensor with a digital output (for example an AM312): high while it
 * sees motion. The firmware cares about the rising edge only.
 */
import Digital from "embedded:io/digital";
import config from "mc/config";

export default class Motion {
	#input: Digital;

	constructor(options: { onMotion: () => void }) {
		const onMotion = options.onMotion;
		this.#input = new Digital({
			pin: config.motionPin,
			mode: Digital.InputPullDown,
			edge: Digital.Rising,
			onReadable() {
				onMotion();
			},
		});
	}

	close(): void {
		this.#input.close();
	}
}

Object.freeze(Motion.prototype);
