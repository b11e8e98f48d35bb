/*
 * Onboarding, wired to the platform: the onboarding link (one exchange per
 * connection), the commissioning window, the owner's Wi-Fi and the audit hook.
 */
import { joinNetwork, onLocalLink } from "hardware/provisioning";
import type { Identity } from "device/identity";
import type { DeviceKeys } from "device/keys";
import type { PairedPhone } from "device/recipients";
import { owned } from "device/recipients";
import { loadVerifier } from "onboarding/setup-code";
import { CommissioningWindow, maxFailures } from "onboarding/window";
import { OnboardingExchange } from "onboarding/exchange";
import type { JoinOutcome } from "onboarding/exchange";
import { storeNetwork, storedNetwork } from "onboarding/wifi";
import type { Invitation } from "onboarding/invitation";

/**
 * The changes onboarding makes besides admissions, for the audit log
 * (src/audit; src/main.ts maps each onto an entry type). An admission is
 * recorded by the `admit` hook itself (audit/phones' admitPhone), entry first.
 */
export type OnboardingAuditEntry =
	| { kind: "window opened"; by: "boot" | "button" }
	| { kind: "failed attempts"; count: number }
	| { kind: "wifi changed"; ssid: string };

export interface OnboardingOptions {
	readonly identity: Identity;
	readonly keys: DeviceKeys;
	now(): number;
	clockSet(): boolean;
	/** Admits the owner, or an invited member: its audit entry first, then the keystore write (see OnboardingDevice). */
	admit(agreementKey: Uint8Array, name: string, time: number, signingKey: Uint8Array, invitation?: Invitation): PairedPhone[];
	onAdmitted(phones: PairedPhone[]): void;
	/** The audit hook: records the change, then runs `apply` (the change itself) if there is one. */
	audit(entry: OnboardingAuditEntry, apply?: () => void): void;
	log(line: string): void;
}

export interface Onboarding {
	/** The button was pressed: an unowned device opens a new window. */
	buttonPressed(): void;
	/** A factory reset erased the phones (onboarding/reset): the device is unowned and opens a window. */
	reset(): void;
}

function join(ssid: string, passphrase: string, options: OnboardingOptions): Promise<JoinOutcome> {
	// The entry first, then the stored network: the passphrase is in neither the entry nor the log.
	options.audit({ kind: "wifi changed", ssid }, () => storeNetwork({ ssid, passphrase }));
	return joinNetwork(ssid, passphrase);
}

export function serveOnboarding(options: OnboardingOptions): Onboarding {
	const window = new CommissioningWindow();
	if (!owned() && window.state().open)
		options.audit({ kind: "window opened", by: "boot" });
	onLocalLink((link) => {
		const exchange = new OnboardingExchange({
			identity: options.identity,
			keys: options.keys,
			window,
			verifier: loadVerifier,
			now: options.now,
			clockSet: options.clockSet,
			admit: options.admit,
			onAdmitted: (phones) => options.onAdmitted(phones),
			failed(count) {
				// One entry when the limit closes the window, not one per wrong code: the log stays bounded by the owner's actions.
				if (count === maxFailures)
					options.audit({ kind: "failed attempts", count });
			},
			joinNetwork: (ssid, passphrase) => join(ssid, passphrase, options),
			log: options.log,
		}, link);
		return {
			onWrite: (fragment) => exchange.write(fragment),
			onDisconnect: () => exchange.disconnected(),
		};
	});
	// A device that was given a network joins it at every boot.
	const network = storedNetwork();
	if (network)
		joinNetwork(network.ssid, network.passphrase).then((outcome) => options.log(`Wi-Fi ${JSON.stringify(network.ssid)}: ${outcome}`));
	return {
		buttonPressed() {
			if (owned())
				return;
			window.openByButton();
			options.audit({ kind: "window opened", by: "button" });
			options.log("onboarding: the commissioning window is open (button)");
		},
		reset() {
			// The reset's own entry records this window: no second entry.
			window.openByButton();
			options.log("onboarding: the commissioning window is open (factory reset)");
		},
	};
}
