// The public face of @voicebus/web: the service's declaration, its HTTP side and the page bundle.
export { WEB_SERVICE, runWebService } from './web-service.ts';
export { WEB_FLAGS, type WebFlags } from './web-flags.ts';
export { WebServer, WEB_SERVER_DEFAULTS, type DeviceGrant, type WebServerOptions } from './web-server.ts';
export { buildPage, PageBuildError, PAGE_ENTRIES } from './page-bundle.ts';
