/*
 * The simulated doorbell button, pressed by the world over the bridge.
 */
import { onMessage, offMessage } from "sim/bridge";
import { ToDevice } from "sim/bridge/messages";

export default class Button {
	#closed = false;

	constructor(options: { onPress: () => void }) {
		const onPress = options.onPress;
		if (typeof onPress !== "function")
			throw new TypeError("button: onPress is required");
		onMessage(ToDevice.Button, (payload) => {
			if ((payload.byteLength === 1) && (new Uint8Array(payload)[0] === 1))
				onPress();
		});
	}

	close(): void {
		if (!this.#closed) {
			this.#closed = true;
			offMessage(ToDevice.Button);
		}
	}
}

Object.freeze(Button.prototype);
