import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { I18nProvider } from './i18n.js';
import { pickPlatform } from './platform.js';
import { PlatformProvider } from './platform-context.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <PlatformProvider platform={pickPlatform()}>
      <I18nProvider>
        <App />
      </I18nProvider>
    </PlatformProvider>
  </StrictMode>,
);
