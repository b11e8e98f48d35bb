/*
 * The commissioning window of an unowned device: when the label's code can
 * be tried at all.
 *
 * - It opens at boot and when the button is pressed, and closes after
 *   windowMs, after a phone is admitted, or after maxFailures failed attempts.
 * - Attempts are counted in the keystore before the phone's confirmation is
 *   checked, and cleared only by a button press: a power cut in the middle of
 *   an attempt counts it, and powering the device off and on gives a new
 *   window (as at boot) but no new attempts. After the 20th failure only the
 *   button opens the next window.
 * - Once the device is owned, the label's code admits nobody: an owner must
 *   invite (the caller checks ownership; this module counts).
 */
import { storedFailures, storeFailures as storeCount } from "onboarding/setup-code";

export const windowMs = 15 * 60 * 1000;
export const maxFailures = 20;

export type WindowState = { open: true } | { open: false; reason: string };

function storeFailures(count: number): void {
	storeCount(Math.min(count, maxFailures));
}

export class CommissioningWindow {
	#openedAt: number | undefined;
	#closedReason = "";
	readonly #clock: () => number;

	/** Opens at once, unless the attempts on flash are used up. */
	constructor(clock: () => number = Date.now) {
		this.#clock = clock;
		if (storedFailures() >= maxFailures)
			this.#closedReason = `closed after ${maxFailures} failed attempts: press the button to open it again`;
		else
			this.#openedAt = clock();
	}

	/** The button: a new window and a fresh count. */
	openByButton(): void {
		storeFailures(0);
		this.#openedAt = this.#clock();
		this.#closedReason = "";
	}

	get failures(): number {
		return storedFailures();
	}

	state(): WindowState {
		if (this.#openedAt === undefined)
			return { open: false, reason: this.#closedReason };
		if (this.#clock() - this.#openedAt >= windowMs) {
			this.close(`closed after ${windowMs / 60000} minutes: press the button to open it again`);
			return { open: false, reason: this.#closedReason };
		}
		return { open: true };
	}

	/** Counts an attempt as failed before it is checked; succeeded() takes it back. Closes the window at the limit. */
	attempt(): void {
		const failures = storedFailures() + 1;
		storeFailures(failures);
		if (failures >= maxFailures)
			this.close(`closed after ${maxFailures} failed attempts: press the button to open it again`);
	}

	/** The attempt was right: it was not a failure, and the window closes (a phone was admitted). */
	succeeded(): void {
		storeFailures(0);
		this.close("closed: a phone was admitted");
	}

	close(reason: string): void {
		this.#openedAt = undefined;
		this.#closedReason = reason;
	}
}
