/** Interface texts. Vietnamese is the default; every key exists in both languages (a test checks). */
export const LANGUAGES = ['vi', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const vi = {
  'app.name': 'Hệ thống xác thực tập trung',
  'app.org': 'Cổng xác thực điện tử',
  'lang.switch': 'English',
  'login.title': 'Đăng nhập',
  'login.intro': 'Đăng nhập để tiếp tục đến {client}.',
  'login.login': 'Tên đăng nhập hoặc số định danh cá nhân',
  'login.password': 'Mật khẩu',
  'login.submit': 'Đăng nhập',
  'login.other': 'Hoặc đăng nhập bằng',
  'login.cancel': 'Huỷ và quay lại',
  'login.error.invalid': 'Tên đăng nhập hoặc mật khẩu không đúng.',
  'login.error.disabled': 'Tài khoản đã bị khoá. Vui lòng liên hệ quản trị viên.',
  'login.error.throttled': 'Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.',
  'login.error.missing': 'Vui lòng nhập tên đăng nhập và mật khẩu.',
  'consent.title': 'Cho phép truy cập',
  'consent.intro': '{client} yêu cầu được truy cập các thông tin sau của bạn:',
  'consent.allow': 'Cho phép',
  'consent.deny': 'Từ chối',
  'consent.signedInAs': 'Đang đăng nhập: {name}',
  'scope.openid': 'Định danh tài khoản của bạn',
  'scope.profile': 'Họ và tên',
  'scope.email': 'Địa chỉ thư điện tử',
  'scope.phone': 'Số điện thoại',
  'scope.vn_identity': 'Số định danh cá nhân và loại tài khoản',
  'scope.vn_official': 'Cơ quan, đơn vị, chức vụ và vai trò',
  'scope.offline_access': 'Duy trì truy cập khi bạn không trực tuyến',
  'scope.api': 'Quyền sử dụng API: {scopes}',
  'error.title': 'Đã xảy ra lỗi',
  'error.intro': 'Yêu cầu không thể thực hiện.',
  'error.back': 'Quay lại trang trước và thử lại, hoặc liên hệ bộ phận hỗ trợ với mã yêu cầu bên dưới.',
  'error.requestId': 'Mã yêu cầu',
  'error.csrf': 'Phiên biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại.',
  'error.session': 'Phiên đăng nhập đã hết hạn. Vui lòng quay lại cổng dịch vụ và đăng nhập lại.',
  'logout.title': 'Đăng xuất',
  'logout.question': 'Bạn có muốn đăng xuất khỏi hệ thống xác thực tập trung?',
  'logout.yes': 'Đăng xuất',
  'logout.no': 'Giữ đăng nhập',
  'logout.done.title': 'Đã đăng xuất',
  'logout.done': 'Bạn đã đăng xuất thành công.',
  'logout.done.client': 'Bạn đã đăng xuất khỏi {client}.',
  'passkey.method': 'Khoá truy cập (passkey)',
  'passkey.title': 'Đăng nhập bằng khoá truy cập',
  'passkey.intro': 'Dùng khoá truy cập (passkey) đã đăng ký trên thiết bị hoặc khoá bảo mật của bạn để đăng nhập vào {client}, không cần mật khẩu.',
  'passkey.start': 'Dùng khoá truy cập',
  'passkey.back': 'Quay lại đăng nhập bằng mật khẩu',
  'passkey.failed': 'Khoá truy cập không được chấp nhận',
  'passkey.unsupported': 'Trình duyệt này không hỗ trợ khoá truy cập.',
  'stepup.title': 'Xác thực bổ sung',
  'stepup.intro': '{client} yêu cầu quyền quản trị ({scopes}). Quyền này cần xác thực mạnh: hãy xác nhận bằng khoá truy cập hoặc chứng thư số.',
  'stepup.noPasskey': 'Tài khoản của bạn chưa có khoá truy cập. Hãy đăng ký tại trang tài khoản, hoặc dùng chứng thư số.',
  'certificate.method': 'Chứng thư số',
  'certificate.refused': 'Không đăng nhập được bằng chứng thư số',
  'account.title': 'Tài khoản của bạn',
  'account.signedInAs': 'Đang đăng nhập: {name}',
  'account.passkeys': 'Khoá truy cập (passkey)',
  'account.none': 'Bạn chưa đăng ký khoá truy cập nào.',
  'account.created': 'Đăng ký: {date}',
  'account.lastUsed': 'Lần dùng gần nhất: {date}',
  'account.neverUsed': 'Chưa dùng',
  'account.synced': 'đồng bộ giữa các thiết bị',
  'account.deviceBound': 'gắn với một thiết bị',
  'account.rename': 'Đổi tên',
  'account.delete': 'Xoá',
  'account.name': 'Tên khoá truy cập',
  'account.add': 'Thêm khoá truy cập',
  'account.registerFailed': 'Không đăng ký được khoá truy cập',
  'account.logout': 'Đăng xuất',
} as const;

export type MessageKey = keyof typeof vi;

const en: Record<MessageKey, string> = {
  'app.name': 'Central sign-in',
  'app.org': 'Electronic authentication portal',
  'lang.switch': 'Tiếng Việt',
  'login.title': 'Sign in',
  'login.intro': 'Sign in to continue to {client}.',
  'login.login': 'Username or personal identification number',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.other': 'Or sign in with',
  'login.cancel': 'Cancel and go back',
  'login.error.invalid': 'The username or password is wrong.',
  'login.error.disabled': 'This account is disabled. Please contact an administrator.',
  'login.error.throttled': 'Too many failed sign-ins. Please try again in {minutes} minutes.',
  'login.error.missing': 'Please enter your username and password.',
  'consent.title': 'Allow access',
  'consent.intro': '{client} asks to access the following information:',
  'consent.allow': 'Allow',
  'consent.deny': 'Deny',
  'consent.signedInAs': 'Signed in as {name}',
  'scope.openid': 'Your account identifier',
  'scope.profile': 'Your name',
  'scope.email': 'Your e-mail address',
  'scope.phone': 'Your phone number',
  'scope.vn_identity': 'Your personal identification number and account type',
  'scope.vn_official': 'Your agency, unit, position and roles',
  'scope.offline_access': 'Access while you are offline',
  'scope.api': 'Use of the API: {scopes}',
  'error.title': 'Something went wrong',
  'error.intro': 'The request could not be completed.',
  'error.back': 'Go back and try again, or contact support with the request id below.',
  'error.requestId': 'Request id',
  'error.csrf': 'The form has expired or is invalid. Please reload the page and try again.',
  'error.session': 'Your sign-in session has expired. Please go back to the portal and sign in again.',
  'logout.title': 'Sign out',
  'logout.question': 'Do you want to sign out of central sign-in?',
  'logout.yes': 'Sign out',
  'logout.no': 'Stay signed in',
  'logout.done.title': 'Signed out',
  'logout.done': 'You have signed out.',
  'logout.done.client': 'You have signed out of {client}.',
  'passkey.method': 'Passkey',
  'passkey.title': 'Sign in with a passkey',
  'passkey.intro': 'Use a passkey registered on your device or security key to sign in to {client}, without a password.',
  'passkey.start': 'Use a passkey',
  'passkey.back': 'Back to password sign-in',
  'passkey.failed': 'The passkey was not accepted',
  'passkey.unsupported': 'This browser does not support passkeys.',
  'stepup.title': 'Additional verification',
  'stepup.intro': '{client} asks for administration rights ({scopes}). They need a strong sign-in: confirm with a passkey or a digital certificate.',
  'stepup.noPasskey': 'Your account has no passkey yet. Register one on the account page, or use a digital certificate.',
  'certificate.method': 'Digital certificate',
  'certificate.refused': 'Certificate sign-in refused',
  'account.title': 'Your account',
  'account.signedInAs': 'Signed in as {name}',
  'account.passkeys': 'Passkeys',
  'account.none': 'You have not registered any passkey.',
  'account.created': 'Registered: {date}',
  'account.lastUsed': 'Last used: {date}',
  'account.neverUsed': 'Never used',
  'account.synced': 'synced across devices',
  'account.deviceBound': 'bound to one device',
  'account.rename': 'Rename',
  'account.delete': 'Delete',
  'account.name': 'Passkey name',
  'account.add': 'Add a passkey',
  'account.registerFailed': 'The passkey was not registered',
  'account.logout': 'Sign out',
};

export const MESSAGES: Record<Language, Record<MessageKey, string>> = { vi, en };

export function t(lang: Language, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return MESSAGES[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ''));
}

export const LANG_COOKIE = 'tinnhiem_lang';

/** ?lang= first (and remembered in a cookie), then the cookie, then Accept-Language, else vi. */
export function pickLanguage(ctx: {
  query: Record<string, unknown>;
  cookies: { get(name: string): string | undefined; set(name: string, value: string, opts: object): void };
  acceptsLanguages(...langs: string[]): string | false;
}): Language {
  const asked = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  if (asked && (LANGUAGES as readonly string[]).includes(asked)) {
    ctx.cookies.set(LANG_COOKIE, asked, { httpOnly: true, sameSite: 'lax', maxAge: 365 * 24 * 3600 * 1000, signed: false });
    return asked as Language;
  }
  const remembered = ctx.cookies.get(LANG_COOKIE);
  if (remembered && (LANGUAGES as readonly string[]).includes(remembered)) return remembered as Language;
  const accepted = ctx.acceptsLanguages('vi', 'en');
  return accepted === 'en' ? 'en' : 'vi';
}
