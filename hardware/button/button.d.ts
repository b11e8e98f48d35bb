/*
 * The doorbell button. `onPress` is called once per press, debounced;
 * `onHold`, if given, once when the button has stayed down for `holdMs`
 * (default 10 s) since that press: the factory reset's gesture
 * (src/onboarding/reset.ts). A press that is held also rang at its start.
 * lin's button has no hold (its presses are events without a release).
 */
declare module "hardware/button" {
	export interface ButtonOptions {
		onPress: () => void;
		onHold?: () => void;
		holdMs?: number;
	}
	export default class Button {
		constructor(options: ButtonOptions);
		close(): void;
	}
}
