export { Dashboard, type DashboardOptions } from './dashboard.js';
export { DashboardToken, DASHBOARD_TOKEN_FILE } from './dashboard-token.js';
export { DASHBOARD_PATH, SESSION_COOKIE, SESSION_TTL_MS } from './dashboard-route.js';
export { DashboardSampler, quantile, type DashboardSnapshot, type DashboardSources } from './dashboard-sampler.js';
export { StaticAssets, ASSETS_DIR } from './static-assets.js';
export { MAX_STREAMS } from './dashboard-stream.js';
