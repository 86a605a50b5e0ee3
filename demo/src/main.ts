// The demo arrives with the demo issue; until then the quick start says so honestly.
console.log('voicebus demo: not yet - the services are being built. Run ./voicebus test to see what works.');
