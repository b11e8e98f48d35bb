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
import { CommissioningWindow } from "onboarding/window";
import { OnboardingExchange } from "onboarding/exchange";
import type { JoinOutcome } from "onboarding/exchange";
import { storeNetwork, storedNetwork } from "onboarding/wifi";

/**
 * What the audit log (issue 12 item 6, src/audit) will record. Until it
 * lands, the caller's hook gets each change; src/main.ts logs it.
 */
export type OnboardingAuditEntry =
	| { kind: "window opened"; by: "boot" | "button" }
	| { kind: "admitted"; keyId: string; role: "owner" | "member"; name: string }
	| { kind: "failed attempts"; count: number }
	| { kind: "wifi changed"; ssid: string; outcome: JoinOutcome };

export interface OnboardingOptions {
	readonly identity: Identity;
	readonly keys: DeviceKeys;
	now(): number;
	onAdmitted(phones: PairedPhone[]): void;
	/** The audit hook: every change onboarding makes. */
	audit(entry: OnboardingAuditEntry): void;
	log(line: string): void;
}

export interface Onboarding {
	/** The button was pressed: an unowned device opens a new window. */
	buttonPressed(): void;
}

async function join(ssid: string, passphrase: string, options: OnboardingOptions): Promise<JoinOutcome> {
	storeNetwork({ ssid, passphrase });
	const outcome = await joinNetwork(ssid, passphrase);
	options.audit({ kind: "wifi changed", ssid, outcome });
	return outcome;
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
			onAdmitted(phones, admitted) {
				options.audit({ kind: "admitted", keyId: admitted.keyId, role: admitted.role, name: admitted.name });
				options.onAdmitted(phones);
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
	};
}
