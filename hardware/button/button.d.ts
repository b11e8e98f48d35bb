/*
 * The doorbell button. `onPress` is called once per press, debounced.
 */
declare module "hardware/button" {
	export interface ButtonOptions {
		onPress: () => void;
	}
	export default class Button {
		constructor(options: ButtonOptions);
		close(): void;
	}
}
