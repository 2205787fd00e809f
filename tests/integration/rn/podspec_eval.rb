# podspec_eval.rb - evaluate sdk/react-native/HotPatch.podspec the way
# `pod install` does (plain Ruby, the file's own __dir__), with a small
# stand-in for the part of CocoaPods' DSL it uses, and print what CocoaPods
# would read as JSON: the attributes, plus each source_files/exclude_files
# pattern expanded against the pod folder the way CocoaPods globs (Ruby's
# Dir.glob with `**` and `{a,b}`), and the resulting file list.
# CocoaPods itself is not installable here (no Xcode); the stand-in is a fake,
# named so: it records attributes and refuses any it does not know, so a
# podspec using an attribute this check cannot see fails loudly.
#
#   ruby podspec_eval.rb PATH/TO/HotPatch.podspec
require "json"

module Pod
  # Fake of Pod::Spec: records the attributes HotPatch.podspec sets.
  class Spec
    KNOWN = %w[name version summary license authors homepage platforms source prepare_command source_files
               exclude_files public_header_files preserve_paths libraries frameworks pod_target_xcconfig
               user_target_xcconfig compiler_flags requires_arc dependency].freeze
    attr_reader :attrs

    def initialize
      @attrs = {}
      yield self
    end

    def method_missing(name, *args)
      key = name.to_s.chomp("=")
      raise NoMethodError, "podspec_eval: attribute '#{key}' is not understood by this check" unless KNOWN.include?(key)

      @attrs[key] = args.length == 1 ? args[0] : args
    end

    def respond_to_missing?(name, priv = false)
      KNOWN.include?(name.to_s.chomp("=")) || super
    end
  end

  # Fake of Pod::UI: warnings go to stderr, where the test sees them.
  module UI
    def self.warn(msg)
      $stderr.puts("pod warning: #{msg}")
    end
  end
end

$specs = []
module Pod
  class Spec
    class << self
      alias_method :orig_new, :new
      def new(*args, &blk)
        s = orig_new(*args, &blk)
        $specs << s
        s
      end
    end
  end
end

# React Native's helper (scripts/react_native_pods.rb) adds the New Architecture dependencies and flags;
# recorded, not emulated.
$rn_helper_called = false
def install_modules_dependencies(_spec)
  $rn_helper_called = true
end

path = File.expand_path(ARGV.fetch(0))
root = File.dirname(path)
eval(File.read(path), binding, path) # rubocop:disable Security/Eval
raise "podspec_eval: the podspec defined #{$specs.length} specs, expected 1" unless $specs.length == 1

a = $specs[0].attrs
as_list = ->(v) { v.nil? ? [] : Array(v).flatten }
expand = lambda do |pattern|
  Dir.glob(pattern, File::FNM_EXTGLOB, base: root).select { |f| File.file?(File.join(root, f)) }.sort
end
globs = {}
(as_list.call(a["source_files"]) + as_list.call(a["exclude_files"])).each { |p| globs[p] = expand.call(p) }
excluded = as_list.call(a["exclude_files"]).flat_map { |p| globs[p] }
files = as_list.call(a["source_files"]).flat_map { |p| globs[p] }.uniq - excluded
puts JSON.pretty_generate(
  "attrs" => a,
  "install_modules_dependencies" => $rn_helper_called,
  "globs" => globs,
  "files" => files.sort
)
