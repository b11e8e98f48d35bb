/*
 * The doorbell button in Moddable's lin simulator: pressed by the scene's
 * "ring" events or by a developer (see hardware/input/lin/input.ts). There
 * is no contact to bounce, so every event is one press.
 */
import { listen } from "lin/input";

export default class Button {
	#stop: (() => void) | undefined;

	constructor(options: { onPress: () => void }) {
		const onPress = options.onPress;
		if (typeof onPress !== "function")
			throw new TypeError("button: onPress is required");
		this.#stop = listen("ring", () => onPress());
	}

	close(): void {
		this.#stop?.();
		this.#stop = undefined;
	}
}

Object.freeze(Button.prototype);
