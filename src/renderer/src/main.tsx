import './zod-config.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { initI18n } from './i18n/index.js';
import { pickPlatform } from './platform.js';
import { PlatformProvider } from './platform-context.js';
import { AppController } from './state/app.js';
import { AppProvider } from './state/context.js';
import './styles.css';

initI18n();
const platform = pickPlatform();
const app = new AppController(platform);
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <PlatformProvider platform={platform}>
      <AppProvider app={app}>
        <App />
      </AppProvider>
    </PlatformProvider>
  </StrictMode>,
);
