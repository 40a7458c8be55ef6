import type { Language } from './messages.js';

/** Texts of the home page and the demo portal (development only); every key in both languages (a test checks). */
const vi = {
  'home.title': 'Trang chủ',
  'home.intro':
    'Dịch vụ tin cậy của tỉnh: đăng nhập một lần (OpenID Connect) cho các cổng dịch vụ, liên kết với tài khoản Cổng dịch vụ công quốc gia (VNeID); chứng thư số cho cán bộ, công chức cùng OCSP và danh sách thu hồi; API kiểm tra chữ ký số.',
  'home.people': 'Cho cán bộ, công chức',
  'home.account': 'Tài khoản của tôi: khoá truy cập (passkey), chứng thư đăng nhập',
  'home.console': 'Trang quản trị (quản trị viên, cán bộ đăng ký chứng thư)',
  'home.developers': 'Cho nhà phát triển cổng dịch vụ',
  'home.discovery': 'Tài liệu khám phá OpenID Connect',
  'home.api': 'Tài liệu API (OpenAPI)',
  'home.pki': 'Kho công khai của tổ chức chứng thực',
  'home.ocsp': 'Dịch vụ OCSP (RFC 6960): {url}',
  'home.caCert': 'Chứng thư {issuer}',
  'home.crl': 'Danh sách thu hồi {issuer}',
  'home.dev': 'Môi trường phát triển',
  'home.dev.intro': 'Các thông tin sau chỉ hiện ở chế độ phát triển (serve --dev); không bao giờ dùng ngoài môi trường này.',
  'home.dev.demo': 'Cổng dịch vụ mẫu: đăng nhập thử',
  'home.dev.officials': 'Tài khoản cán bộ mẫu (mật khẩu {password}):',
  'home.dev.clients': 'Ứng dụng mẫu:',
  'demo.title': 'Cổng dịch vụ mẫu',
  'demo.intro':
    'Một cổng dịch vụ (relying party) thật, chạy phía máy chủ: luồng mã uỷ quyền với PKCE, kiểm tra state và nonce, với ứng dụng mẫu {client}.',
  'demo.login': 'Đăng nhập',
  'demo.loginDvcqg': 'Đăng nhập bằng tài khoản DVCQG',
  'demo.loginDvcqg.hint': 'Trên trang đăng nhập, chọn “Tài khoản Cổng dịch vụ công quốc gia (VNeID)”, rồi chọn một công dân ở trang giả lập DVCQG.',
  'demo.logout': 'Đăng xuất',
  'demo.signedIn': 'Đã đăng nhập: {name}',
  'demo.assurance': 'Mức xác thực (acr): {acr} · phương thức (amr): {amr}',
  'demo.claims': 'Các thông tin trong ID token',
  'demo.userinfo': 'Thông tin từ userinfo',
  'demo.manual': 'Tự làm bằng tay',
  'demo.manual.intro': 'Mở địa chỉ đăng nhập, rồi đổi mã nhận được ở {redirect} (trong 60 giây) bằng lệnh:',
  'demo.error': 'Đăng nhập không thành công: {error}',
  'demo.back': 'Về trang chủ',
  'password.title': 'Đổi mật khẩu',
  'password.new': 'Mật khẩu mới (ít nhất 10 ký tự, không chứa tên đăng nhập hay số định danh)',
  'password.confirm': 'Nhập lại mật khẩu mới',
  'password.stepUp': 'Đổi mật khẩu cần đăng nhập mạnh hơn mật khẩu (khoá truy cập, chứng thư, hoặc DVCQG mức 2), hoặc mã đăng ký do quản trị viên cấp.',
  'password.code': 'Mã đăng ký (nếu có)',
  'password.submit': 'Đổi mật khẩu',
  'password.after': 'Sau khi đổi, mọi phiên đăng nhập của tài khoản (cả phiên này) kết thúc.',
  'password.mismatch': 'Hai mật khẩu không khớp.',
} as const;

export type HomeMessageKey = keyof typeof vi;

const en: Record<HomeMessageKey, string> = {
  'home.title': 'Home',
  'home.intro':
    "The province's trust services: single sign-on (OpenID Connect) for its portals, federated with the national public-service portal's accounts (VNeID); certificates for officials with OCSP and revocation lists; a signature-validation API.",
  'home.people': 'For officials',
  'home.account': 'My account: passkeys, login certificates',
  'home.console': 'Console (administrators, registration officers)',
  'home.developers': 'For portal developers',
  'home.discovery': 'OpenID Connect discovery document',
  'home.api': 'API document (OpenAPI)',
  'home.pki': "The certificate authority's public repository",
  'home.ocsp': 'OCSP responder (RFC 6960): {url}',
  'home.caCert': 'Certificate of {issuer}',
  'home.crl': 'Revocation list of {issuer}',
  'home.dev': 'Development instance',
  'home.dev.intro': 'What follows is shown only in development (serve --dev); never use it anywhere else.',
  'home.dev.demo': 'Demo portal: try a login',
  'home.dev.officials': 'Demo officials (password {password}):',
  'home.dev.clients': 'Demo clients:',
  'demo.title': 'Demo portal',
  'demo.intro': 'A real relying party, running server-side: authorization code with PKCE, state and nonce checked, with the demo client {client}.',
  'demo.login': 'Log in',
  'demo.loginDvcqg': 'Log in with DVCQG',
  'demo.loginDvcqg.hint': 'On the login page, choose "National public-service portal account (VNeID)", then pick a citizen on the DVCQG simulator\'s page.',
  'demo.logout': 'Log out',
  'demo.signedIn': 'Signed in: {name}',
  'demo.assurance': 'Assurance (acr): {acr} · methods (amr): {amr}',
  'demo.claims': 'ID token claims',
  'demo.userinfo': 'Userinfo',
  'demo.manual': 'By hand',
  'demo.manual.intro': 'Open the authorization URL, then redeem the code that arrives at {redirect} (within 60 s) with:',
  'demo.error': 'The login failed: {error}',
  'demo.back': 'Back to the home page',
  'password.title': 'Change password',
  'password.new': 'New password (at least 10 characters, without the username or the national ID)',
  'password.confirm': 'New password again',
  'password.stepUp': 'Changing the password needs a login stronger than a password (a passkey, a certificate, or DVCQG at level 2), or an enrolment code from an administrator.',
  'password.code': 'Enrolment code (if you have one)',
  'password.submit': 'Change password',
  'password.after': "Afterwards every session of the account (this one too) ends.",
  'password.mismatch': 'The two passwords differ.',
};

export const HOME_MESSAGES: Record<Language, Record<HomeMessageKey, string>> = { vi, en };

export function th(lang: Language, key: HomeMessageKey, params: Record<string, string> = {}): string {
  return HOME_MESSAGES[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? `{${name}}`);
}
