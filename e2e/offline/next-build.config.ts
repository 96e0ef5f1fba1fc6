/** The kiosk's build config plus one change to the kiosk page: a genuinely new build to deploy over the old one (e2e/offline.spec.ts). */
import { mergeConfig } from 'vite';
import base from '../../vite.config.ts';

export default mergeConfig(base, {
  plugins: [{ name: 'next-build', transformIndexHtml: (html: string) => html.replace('</title>', '</title>\n    <meta name="build" content="next" />') }],
});
